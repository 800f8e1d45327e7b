"""Rejection reasons: the short list the admin keeps for reviewers to pick from."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from requests_app.models import Account, RejectionReason

from .common import account_sid, permission_required, render


class ReasonForm(forms.ModelForm):
    class Meta:
        model = RejectionReason
        fields = ["label"]
        labels = {"label": "New reason"}

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        others = RejectionReason.objects.filter(account_sid=self.instance.account_sid)
        if others.filter(label=label).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This reason already exists on this account.")
        return label


def _reasons_page(request: HttpRequest, form: ReasonForm, *, error: str = "") -> HttpResponse:
    response = render(
        request,
        "requests_app/reasons.html",
        {"form": form, "reasons": account_reasons(request), "error": error},
    )
    if form.errors or error:
        response.status_code = 400
    return response


def account_reasons(request: HttpRequest):
    return RejectionReason.objects.filter(account_sid=account_sid(request))


@require_http_methods(["GET", "POST"])
@permission_required("change_rejectionreason")
def reasons(request: HttpRequest) -> HttpResponse:
    """The short list of reasons reviewers pick from when rejecting; the admin keeps it."""
    form = ReasonForm(
        request.POST or None, instance=RejectionReason(account_sid=account_sid(request))
    )
    if request.method == "POST" and form.is_valid():
        reason = form.save(commit=False)
        reason.position = account_reasons(request).count() + 1
        reason.save()
        messages.success(request, f"Added the reason “{reason.label}”.")
        return redirect("requests:reasons")
    return _reasons_page(request, form)


class ChangeReasonForm(forms.Form):
    """What the reasons page's buttons send: a move, or nothing (hide or offer again)."""

    move = forms.ChoiceField(
        required=False, choices=[("", "hide or offer again"), ("up", "up"), ("down", "down")]
    )


@require_POST
@permission_required("change_rejectionreason")
def change_reason(request: HttpRequest, reason_id: int) -> HttpResponse:
    """Hide or show a reason, or move it up or down the list (decisions keep their text)."""
    reason = get_object_or_404(account_reasons(request), pk=reason_id)
    change = ChangeReasonForm(request.POST)
    if not change.is_valid():
        return _reasons_page(
            request, ReasonForm(), error="Move a reason “up” or “down”; nothing was changed."
        )
    move = change.cleaned_data["move"]
    if move:
        ordered = list(account_reasons(request))
        at = ordered.index(reason)
        to = at - 1 if move == "up" else at + 1
        if 0 <= to < len(ordered):
            ordered[at], ordered[to] = ordered[to], ordered[at]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        RejectionReason.objects.bulk_update(ordered, ["position"])
        Account.team_changed()  # bulk_update sends no signal
    else:
        reason.active = not reason.active
        reason.save(update_fields=["active"])
        shown = "offered again" if reason.active else "hidden from the reject form"
        messages.success(request, f"“{reason.label}” is {shown}.")
    return redirect("requests:reasons")
