"""Deadlines: the account's service-level targets, per campaign and by default (sla.py)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from requests_app import sla
from requests_app.models import SlaTarget

from .common import account_sid, can, current_account, permission_required, render
from .lists import filter_choices

MAX_HOURS = 2000  # about a year of business days


class TargetForm(forms.Form):
    campaign = forms.TypedChoiceField(
        label="Campaign", coerce=int, required=False, empty_value=None
    )
    hours = forms.IntegerField(
        label="Decide within (business hours)",
        required=False,
        min_value=1,
        max_value=MAX_HOURS,
        help_text="Leave empty to remove the target.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, campaigns: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", "Every campaign (the default)"), *campaigns]


@require_http_methods(["GET", "POST"])
@permission_required("view_trackingvaluerequest")
def targets(request: HttpRequest) -> HttpResponse:
    """Everyone on the account reads the targets; its admins set them."""
    sid = account_sid(request)
    campaigns = filter_choices(current_account(request))["campaign"]
    can_change = can(request, "requests_app.change_slatarget")
    form = TargetForm(request.POST or None, campaigns=campaigns)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied("Only the account's admins set its deadlines.")
        if form.is_valid():
            campaign, hours = form.cleaned_data["campaign"], form.cleaned_data["hours"]
            changed = sla.set_target(sid, campaign, hours, by=request.user)
            what = "removed" if hours is None else f"set to {hours} business hours"
            messages.success(request, f"Target {what}; {changed} requests have a new deadline.")
            return redirect("requests:targets")
    names = dict(campaigns)
    rows = [
        (names.get(t.campaign_id, f"Campaign {t.campaign_id}") if t.campaign_id else None, t)
        for t in SlaTarget.objects.filter(account_sid=sid)
    ]
    opens, closes = settings.TVR_BUSINESS_HOURS
    response = render(
        request,
        "requests_app/targets.html",
        {
            "form": form,
            "rows": rows,
            "can_change": can_change,
            "opens": opens,
            "closes": closes,
            "days": sorted(settings.TVR_BUSINESS_DAYS),
            "zone": settings.TIME_ZONE,
            "warn_hours": settings.TVR_SLA_WARN_HOURS,
        },
    )
    if form.errors:
        response.status_code = 400
    return response
