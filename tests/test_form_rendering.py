"""Forms render their own fields: names, ids, maxlength, required and widget attributes come
from the form classes, read here from the real pages; an error re-render keeps what was typed
and marks the field (aria-invalid, and aria-describedby naming the error shown)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from requests_app.models import RejectionReason, TrackingValueRequest
from requests_app.signin import ThrottledAuthenticationForm

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


class Page(HTMLParser):
    """Every element's attributes by id, every id in order, and each textarea's text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.ids: list[str] = []
        self.text: dict[str, str] = {}
        self.selected: dict[str, list[str]] = {}
        self._textarea = ""
        self._select = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {name: "" if value is None else value for name, value in attrs}
        if "id" in attrs:
            self.ids.append(attrs["id"])
            self.by_id[attrs["id"]] = {"tag": tag, **attrs}
        if tag == "textarea":
            self._textarea = attrs.get("id", "")
            self.text[self._textarea] = ""
        if tag == "select":
            self._select = attrs.get("id", "")
            self.selected[self._select] = []
        if tag == "option" and "selected" in attrs:
            self.selected[self._select].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = ""

    def handle_data(self, data):
        if self._textarea:
            self.text[self._textarea] += data

    def field(self, element_id: str) -> dict[str, str]:
        assert element_id in self.by_id, f"no element has id {element_id}"
        return self.by_id[element_id]

    def assert_marked(self, element_id: str) -> None:
        """aria-invalid, and aria-describedby naming elements the page has (the error)."""
        attrs = self.field(element_id)
        assert attrs.get("aria-invalid") == "true", attrs
        described = attrs.get("aria-describedby", "").split()
        assert f"{element_id}_error" in described or any(d.endswith("_error") for d in described)
        for target in described:
            assert target in self.by_id, f"{element_id} is described by missing #{target}"


def detail(client, tvr: TrackingValueRequest, **params) -> Page:
    response = client.get(reverse("requests:detail", args=[tvr.impact_id]), params)
    assert response.status_code == 200
    return Page(response.content.decode())


def max_length(form_class, name: str) -> str:
    return str(form_class.base_fields[name].max_length)


# --- sign-in ---------------------------------------------------------------------------------


def test_the_sign_in_fields_are_the_forms_own_with_the_username_maxlength(client):
    body = client.get(reverse("login")).content.decode()

    form = ThrottledAuthenticationForm()
    assert str(form["username"]) in body and str(form["password"]) in body
    username = Page(body).field("id_username")
    assert username["maxlength"] == str(User._meta.get_field("username").max_length)
    assert (username["autocomplete"], username["name"]) == ("username", "username")
    assert "autofocus" in username and "required" in username
    assert Page(body).field("id_password")["autocomplete"] == "current-password"


def test_a_sign_in_without_a_password_keeps_the_username_and_marks_the_password(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": ""})

    page = Page(response.content.decode())
    assert response.status_code == 200
    assert page.field("id_username")["value"] == "alice"
    page.assert_marked("id_password")
    assert "aria-invalid" not in page.field("id_username")


def test_a_wrong_password_keeps_the_username_and_never_echoes_the_password(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "not-the-password-42"}
    )

    body = response.content.decode()
    assert "Please enter a correct username and password" in body
    assert Page(body).field("id_username")["value"] == "alice"
    assert "not-the-password-42" not in body


# --- preferences and rejection reasons -------------------------------------------------------


def test_the_preference_toggle_is_the_forms_own_checkbox(as_alice):
    page = Page(as_alice.get(reverse("requests:preferences")).content.decode())

    box = page.field("id_auto_advance")
    assert (box["tag"], box["type"], box["name"]) == ("input", "checkbox", "auto_advance")
    assert "checked" in box  # on until a person turns it off


def test_the_reason_field_takes_its_maxlength_from_the_model(client, admin):
    client.force_login(admin)

    page = Page(client.get(reverse("requests:reasons")).content.decode())

    label = page.field("id_label")
    assert label["maxlength"] == str(RejectionReason._meta.get_field("label").max_length)
    assert (label["name"], "required" in label) == ("label", True)


def test_a_refused_reason_keeps_the_text_and_marks_the_field(client, admin):
    RejectionReason.objects.create(label="Duplicate request")
    client.force_login(admin)

    response = client.post(reverse("requests:reasons"), {"label": "Duplicate request"})

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.field("id_label")["value"] == "Duplicate request"
    page.assert_marked("id_label")
    assert RejectionReason.objects.count() == 1
