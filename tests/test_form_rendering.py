"""Forms render their own fields: names, ids, maxlength, required and widget attributes come
from the form classes, read here from the real pages; an error re-render keeps what was typed
and marks the field (aria-invalid, and aria-describedby naming the error shown)."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from requests_app import forms
from requests_app.models import AuditEvent, Comment, RejectionReason, TrackingValueRequest
from requests_app.signin import ThrottledAuthenticationForm
from tests.conftest import in_account

pytestmark = pytest.mark.django_db

OWN = settings.IMPACT_SANDBOX_ACCOUNT_SID  # rejection reasons are per account

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
    RejectionReason.objects.create(account_sid=OWN, label="Duplicate request")
    client.force_login(admin)

    response = client.post(reverse("requests:reasons"), {"label": "Duplicate request"})

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.field("id_label")["value"] == "Duplicate request"
    page.assert_marked("id_label")
    assert RejectionReason.objects.count() == 1


# --- the request page ------------------------------------------------------------------------


def test_no_id_is_used_twice_on_the_request_page(as_alice, make_request):
    tvr = make_request()  # a promo code request: approve form, code tester, reject, comment

    page = detail(as_alice, tvr)

    assert [i for i, n in Counter(page.ids).items() if n > 1] == []


def test_every_field_of_the_request_page_takes_its_limits_from_its_form(as_alice, make_request):
    tvr = make_request()

    page = detail(as_alice, tvr)

    expected = {
        # id: (name, the form and field whose max_length it shows)
        "id_promo_code": ("promo_code", forms.PromoCodeApprovalForm, "promo_code"),
        "id_deal_name": ("deal_name", forms.PromoCodeApprovalForm, "deal_name"),
        "id_note": ("note", forms.PromoCodeApprovalForm, "note"),
        "id_test_code": ("promo_code", forms.CodeTestForm, "promo_code"),
        "id_samples": ("samples", forms.CodeTestForm, "samples"),
        "id_reason_text": ("reason_text", forms.RejectForm, "reason_text"),
        "id_reject_note": ("note", forms.RejectForm, "note"),
        "id_body": ("body", forms.CommentForm, "body"),
    }
    for element_id, (name, form_class, field) in expected.items():
        attrs = page.field(element_id)
        assert attrs["name"] == name, element_id
        assert attrs["maxlength"] == max_length(form_class, field), element_id
    assert "required" in page.field("id_promo_code") and "required" in page.field("id_body")
    assert "required" not in page.field("id_note")
    assert page.field("id_assign_to")["name"] == "to"
    assert page.field("id_deal_id")["inputmode"] == "numeric"


def test_the_code_testers_htmx_comes_from_the_forms_with_its_url_built_by_reverse(
    as_alice, make_request
):
    tvr = make_request()
    check_url = in_account(reverse("requests:detail", args=[tvr.impact_id], query={"check": 1}))

    page = detail(as_alice, tvr)

    approve = forms.approval_form(tvr)
    code, mode = approve["promo_code"], approve["match_mode"]
    for element_id, widget in [
        ("id_promo_code", code.field.widget),
        ("id_match_mode_0", mode.field.widget),
        ("id_match_mode_1", mode.field.widget),
        ("id_samples", forms.CodeTestForm(check_url=check_url).fields["samples"].widget),
    ]:
        attrs = page.field(element_id)
        assert attrs["hx-get"] == check_url
        # The rest as the form class says (its URL was built outside the account's page).
        assert {k: attrs[k] for k in widget.attrs if k.startswith("hx-") and k != "hx-get"} == {
            k: v for k, v in widget.attrs.items() if k.startswith("hx-") and k != "hx-get"
        }
        assert attrs["hx-params"] == "promo_code,match_mode,samples"
    for element_id in ("id_test_code", "id_test_mode", "id_samples"):
        assert page.field(element_id)["form"] == "code-test"
    assert (
        page.field("id_promo_code")["autocomplete"],
        page.field("id_promo_code")["spellcheck"],
    ) == (
        "off",
        "false",
    )


def test_the_tester_without_javascript_shows_what_it_tested_in_its_own_fields(
    as_alice, make_request
):
    tvr = make_request()

    page = detail(as_alice, tvr, check=1, promo_code="SAVE[0-9]+", match_mode="RE", samples="S1")

    assert page.field("id_test_code")["value"] == "SAVE[0-9]+"
    assert page.selected["id_test_mode"] == ["RE"]
    assert page.text["id_samples"].strip() == "S1"
    assert page.field("id_promo_code")["value"] == "SAVE[0-9]+"  # to approve what was tested
    assert "checked" in page.field("id_match_mode_1")  # RE


def test_an_approve_error_keeps_what_was_typed_and_marks_the_fields(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]),
        {
            "promo_code": "MYCODE",
            "credit_policy": "WINNER",
            "match_mode": "LI",
            "deal_id": "not a number",
            "deal_name": "Spring",
            "note": "x" * 2001,
        },
    )

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.field("id_promo_code")["value"] == "MYCODE"
    assert "checked" in page.field("id_credit_policy_2")  # WINNER
    assert page.field("id_deal_id")["value"] == "not a number"
    assert page.field("id_deal_name")["value"] == "Spring"
    assert page.text["id_note"].strip() == "x" * 2001
    page.assert_marked("id_deal_id")
    page.assert_marked("id_note")
    assert "aria-invalid" not in page.field("id_promo_code")
    assert "Enter a whole number." in response.content.decode()
    tvr.refresh_from_db()
    assert tvr.state == "NEW"


def test_a_missing_promo_code_marks_the_field_over_htmx_too(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]),
        {"promo_code": "  ", "credit_policy": "WINNER", "match_mode": "LI"},
        **HTMX,
    )

    page = Page(response.content.decode())
    page.assert_marked("id_promo_code")
    assert "<html" not in response.content.decode()


def test_a_reject_error_keeps_what_was_typed_and_marks_the_field(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(
        reverse("requests:reject", args=[tvr.impact_id]),
        {"reason_text": "y" * 201, "note": "Asked twice already"},
    )

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.field("id_reason_text")["value"] == "y" * 201
    assert page.text["id_reject_note"].strip() == "Asked twice already"
    page.assert_marked("id_reason_text")
    assert "open" in page.field("reject-panel")
    tvr.refresh_from_db()
    assert tvr.state == "NEW"


def test_an_empty_comment_is_refused_on_the_page_with_the_field_marked(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(reverse("requests:comment", args=[tvr.impact_id]), {"body": "   "})

    assert response.status_code == 400
    page = Page(response.content.decode())
    page.assert_marked("id_body")
    assert "A comment needs some text." in response.content.decode()
    assert not Comment.objects.exists()


def test_a_too_long_comment_keeps_its_text(as_alice, make_request):
    tvr = make_request()
    text = "A long note. " * 400  # 5,200 characters

    response = as_alice.post(reverse("requests:comment", args=[tvr.impact_id]), {"body": text})

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.text["id_body"].strip() == text.strip()
    page.assert_marked("id_body")
    assert not Comment.objects.exists()


def test_the_assign_select_lists_the_teams_reviewers_only(as_alice, make_request, bob, viewer):
    tvr = make_request()

    body = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()

    select = body[
        body.index('<select name="to"') : body.index("</select>", body.index('name="to"'))
    ]
    assert '<option value="" selected>Choose…</option>' in select
    assert f'<option value="{bob.pk}">bob</option>' in select
    assert f'value="{viewer.pk}"' not in select  # a viewer cannot review


def test_assigning_to_no_one_keeps_the_page_and_marks_the_select(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(reverse("requests:assign", args=[tvr.impact_id]), {"to": ""})

    assert response.status_code == 400
    page = Page(response.content.decode())
    page.assert_marked("id_assign_to")
    assert "Choose a teammate to assign it to." in response.content.decode()
    assert not AuditEvent.objects.filter(action="assign").exists()
