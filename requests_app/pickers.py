"""The approve forms' searchable choice of the account's branded URLs and phone numbers.

`TrackingValuePicker` is the id field's own widget: a text input (typing an id still works)
tied to a <datalist> of the account's values, and a search box that asks
`requests:tracking_values` (htmx) for the matching ones as buttons; picking one fills the id
(static/js/picker.js). Without JavaScript the datalist alone still offers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from requests_app import tracking_values

NOUNS = {"url": "branded URL", "phone": "tracking phone number"}
FIELDS = {"url": "url_id", "phone": "assigned_phone_number_id"}


@dataclass(frozen=True)
class Option:
    """One value as the picker shows it."""

    id: str
    value: str
    state: str
    partner: str
    detail: str

    @property
    def label(self) -> str:
        parts = [self.value or "(no value)", self.state.lower()]
        if self.partner:
            parts.append(f"assigned to {self.partner}")
        return " · ".join(p for p in parts if p)


def options(account_sid: str, kind: str, query: str = "") -> list[Option]:
    rows = tracking_values.choices(account_sid, kind, query)[: tracking_values.CHOICES_SHOWN]
    return [Option(r.impact_id, r.value, r.state, r.partner_name, r.detail) for r in rows]


class TrackingValuePicker(forms.TextInput):
    template_name = "requests_app/widgets/tracking_value_picker.html"

    def __init__(self, kind: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})
        self.kind = kind
        self.account_sid = ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        field_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["attrs"]["list"] = f"{field_id}-choices"
        context["picker"] = {
            "id": field_id,
            "noun": NOUNS[self.kind],
            "options": options(self.account_sid, self.kind) if self.account_sid else [],
            "search_url": reverse("requests:tracking_values", args=[self.kind]),
        }
        return context

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        # The project's template engine (the default form renderer does not search templates/).
        return render_to_string(self.template_name, self.get_context(name, value, attrs))


def offer(form: forms.Form, account_sid: str) -> None:
    """Give a form's pickers the account whose values they offer."""
    for field in form.fields.values():
        if isinstance(field.widget, TrackingValuePicker):
            field.widget.account_sid = account_sid
