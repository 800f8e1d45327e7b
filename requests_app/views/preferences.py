"""A person's own settings: whether the next request opens by itself after a decision, and
what they are told (notify.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from requests_app import notify
from requests_app.forms import NotificationForm
from requests_app.models import Mute, Preference

from .common import back_to, render

TEMPLATE = "requests_app/preferences.html"


class PreferenceForm(forms.Form):
    auto_advance = forms.BooleanField(
        label="After a decision, open the next request of the same list", required=False
    )


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The settings page (the toggle alone for htmx, where the detail page shows it)."""
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        form.is_valid()  # a checkbox: absent means off, anything else on
        on = form.cleaned_data.get("auto_advance", False)
        Preference.objects.update_or_create(user=request.user, defaults={"auto_advance": on})
        if not request.htmx:
            messages.success(
                request,
                "The next request now opens by itself after a decision."
                if on
                else "You now stay on a request after deciding it.",
            )
            return back_to(request, "requests:preferences")
    return preferences_page(request)


def preferences_page(
    request: HttpRequest, *, notifications: Any = None, status: int = 200
) -> HttpResponse:
    """The page: the advance toggle, what the person is told and where, and their mutes."""
    form = PreferenceForm(initial={"auto_advance": Preference.auto_advance_for(request.user)})
    response = render(
        request,
        TEMPLATE,
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "notifications": notifications
            or NotificationForm(instance=notify.settings_for(request.user)),
            "mutes": Mute.objects.filter(user=request.user).order_by("-created_at"),
            "zone": timezone.get_current_timezone_name(),
        },
        partial="toggle",
    )
    response.status_code = status
    return response
