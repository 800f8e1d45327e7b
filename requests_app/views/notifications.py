"""Notifications: a person's settings and mutes, the links messages carry, the team's Slack."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from requests_app import notify
from requests_app.accounts import LOOPBACK
from requests_app.forms import NotificationForm
from requests_app.middleware import address_in, viewer_zone_name
from requests_app.models import Mute

from .common import account_sid, back_to, get_request_or_404, permission_required, render
from .preferences import preferences_page


@require_POST
def save_notifications(request: HttpRequest) -> HttpResponse:
    form = NotificationForm(request.POST, instance=notify.settings_for(request.user))
    if not form.is_valid():
        return preferences_page(request, notifications=form, status=400)
    prefs = form.save(commit=False)
    # Quiet hours and digest times are in the zone of the browser that set them.
    prefs.time_zone = viewer_zone_name(request) or settings.TIME_ZONE
    prefs.save()
    messages.success(request, "Your notification settings are saved.")
    return redirect("requests:preferences")


@require_GET
def notification_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link from a message: to its page inside its account, while it has not expired."""
    try:
        sid, page, args = notify.open_link(token)
    except notify.LinkExpired:
        response = render(request, "requests_app/link_expired.html", {})
        response.status_code = 410
        return response
    except signing.BadSignature:
        raise Http404("This link was not made by this dashboard.") from None
    return redirect(address_in(request, sid, page, args=args))


class MuteForm(forms.Form):
    what = forms.ChoiceField(choices=[("request", "request"), ("partner", "partner")])


@require_POST
@permission_required("view_trackingvaluerequest")
def mute(request: HttpRequest, impact_id: str) -> HttpResponse:
    """Hear nothing more of this request, or of its partner."""
    tvr = get_request_or_404(request, impact_id)
    form = MuteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Mute the “request” or its “partner”; nothing was changed.")
    elif form.cleaned_data["what"] == "request":
        notify.mute(request.user, tvr.account_sid, request=tvr)
        messages.success(request, "You will hear nothing more of this request.")
    elif tvr.media_partner_id is not None:
        notify.mute(
            request.user,
            tvr.account_sid,
            partner=(tvr.media_partner_id, tvr.media_partner_name),
        )
        messages.success(request, f"You will hear nothing more of {tvr.media_partner_name}.")
    return redirect("requests:detail", impact_id)


@require_POST
def unmute(request: HttpRequest, mute_id: int) -> HttpResponse:
    get_object_or_404(Mute, pk=mute_id, user=request.user).delete()
    messages.success(request, "Muted no more.")
    return back_to(request, "requests:preferences")


class SlackForm(forms.Form):
    webhook = forms.CharField(
        label="Slack incoming-webhook URL",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Kept encrypted and never shown again. Leave empty to remove it.",
    )

    def clean_webhook(self) -> str:
        url = self.cleaned_data["webhook"].strip()
        if not url:
            return ""
        try:
            URLValidator(schemes=["https", "http"])(url)
        except forms.ValidationError:
            raise forms.ValidationError("Enter the webhook's whole address.") from None
        parts = urlsplit(url)
        local = parts.hostname in LOOPBACK
        if not local and (
            parts.scheme != "https" or parts.hostname not in settings.TVR_SLACK_HOSTS
        ):
            hosts = ", ".join(settings.TVR_SLACK_HOSTS)
            raise forms.ValidationError(f"A Slack incoming webhook is an https address on {hosts}.")
        return url


@require_POST
@sensitive_post_parameters("webhook")
@permission_required("change_account")
def slack(request: HttpRequest) -> HttpResponse:
    """The account's admins set the team's Slack webhook on its Team page."""
    form = SlackForm(request.POST)
    if form.is_valid():
        url = form.cleaned_data["webhook"]
        notify.set_webhook(account_sid(request), url, by=request.user)
        messages.success(request, "Slack webhook saved." if url else "Slack webhook removed.")
    else:
        messages.error(request, " ".join(form.errors["webhook"]))
    return redirect("requests:team")
