"""Whatever a browser (or anyone) sends, the filter, approve and reject forms never 500.

Property-based: hypothesis draws query strings and form posts from the forms' own field names
plus anything else, with values ranging from plausible to hostile. An invalid post is refused
with 400 before anything reaches impact.com; a valid one sends exactly one call.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from requests_app import sync
from requests_app.forms import FilterForm, RejectForm
from requests_app.models import RejectionReason, State, TrackingValueRequest
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text a browser can send: anything but lone surrogates, which cannot be UTF-8 encoded.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
plausible = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "1",
            "LI",
            "RE",
            "WINNER",
            "INVOLVED",
            "FIRST",
            "NEW",
            "APPROVED",
            "promocode",
            "BRANDED_URL_TRACKING",
            "overdue",
            "needed",
            "-needed",
            "2026-02-30",
            "2026-11-25",
            "TRAIL20",
            "[a-z",
            "(a+)+$",
            '=HYPERLINK("x")',
            "<script>x</script>",
            "' OR 1=1 --",
            "%",
            "\x00",
            "a\nb",
            "１２３",
            "9" * 40,
        ]
    ),
    any_text,
)


def form_data(field_names: list[str]):
    """Any subset of the form's fields (each one value or several), plus stray keys."""
    values = st.one_of(plausible, st.lists(plausible, min_size=1, max_size=3))
    known = st.dictionaries(st.sampled_from(field_names), values, max_size=len(field_names))
    stray = st.dictionaries(any_text.filter(bool), values, max_size=2)
    return st.tuples(known, stray).map(lambda pair: {**pair[1], **pair[0]})


FILTER_FIELDS = [*FilterForm.base_fields, "after", "before", "page"]


@EXAMPLES
@given(params=form_data(FILTER_FIELDS))
@example(params={"after": "eyJ2IjpbMSwyXX0", "sort": "partner"})
@example(params={"before": "!!", "needed_from": "2026-13-45", "campaign": "1e9"})
def test_any_query_string_renders_the_list_or_its_partial(as_alice, make_request, params):
    make_request()
    assert as_alice.get(reverse("requests:list"), params).status_code == 200
    partial = as_alice.get(reverse("requests:list"), params, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200


OPEN_PAYLOADS = {
    "PROMOCODE_TRACKING": {},
    "BRANDED_URL_TRACKING": {
        "PromoCodes": [],
        "UniqueUrls": [{"Id": "1", "Url": "https://www.acme.example/p/x"}],
    },
    "PHONE_NUMBER_TRACKING": {"PromoCodes": [], "PhoneNumbers": [{"Id": "7"}]},
}
APPROVE_FIELDS = {
    "PROMOCODE_TRACKING": ["promo_code", "credit_policy", "match_mode"],
    "BRANDED_URL_TRACKING": ["url_id"],
    "PHONE_NUMBER_TRACKING": ["assigned_phone_number_id"],
}
COMMON = ["deal_id", "deal_name", "note", "confirm"]


def open_request(fake: FakeImpact, sid: str, request_type: str) -> TrackingValueRequest:
    payload = wire_request(RequestType=request_type, **OPEN_PAYLOADS[request_type])
    fake.payloads[payload["Id"]] = payload
    return sync.refresh_one(sid, payload["Id"])


def shows_an_error(response) -> bool:
    body = response.content.decode()
    return "field-error" in body or 'role="alert"' in body


def sent(fake: FakeImpact, tvr: TrackingValueRequest) -> list:
    def request_id(call):
        return call[1][0] if call[0] == "approve" else call[1]

    return [
        c for c in fake.calls if c[0] in ("approve", "reject") and request_id(c) == tvr.impact_id
    ]


@pytest.mark.parametrize("request_type", list(APPROVE_FIELDS))
def test_any_approve_post_is_refused_or_sent_once(request_type, as_alice, fake, sandbox_sid):
    @EXAMPLES
    @given(data=form_data(APPROVE_FIELDS[request_type] + COMMON), htmx=st.booleans())
    @example(data={"promo_code": "[a-z", "match_mode": "RE", "credit_policy": "WINNER"}, htmx=0)
    @example(data={"url_id": "0", "assigned_phone_number_id": "-5", "deal_id": "9" * 40}, htmx=1)
    def check(data, htmx):
        tvr = open_request(fake, sandbox_sid, request_type)
        url = reverse("requests:approve", args=[tvr.impact_id])
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = as_alice.post(url, data, **headers)

        tvr.refresh_from_db()
        calls = sent(fake, tvr)
        assert response.status_code in (200, 302, 400)
        if not calls:
            assert tvr.state == State.NEW
            assert response.status_code == 400 or shows_an_error(response)
        else:
            assert response.status_code != 400
            assert len(calls) == 1 and tvr.state == State.APPROVED
            body = calls[0][1][1]
            if request_type == "PROMOCODE_TRACKING":
                assert body["PromoCode"] and body["MatchMode"] in ("LI", "RE")
            else:
                assert int(next(iter(body.values()))) >= 1

    check()


@EXAMPLES
@given(data=form_data([*RejectForm.base_fields]), htmx=st.booleans())
@example(data={"reason": "Not a reason we keep", "reason_text": "x" * 201}, htmx=False)
def test_any_reject_post_is_refused_or_sent_once(as_alice, fake, sandbox_sid, data, htmx):
    RejectionReason.objects.get_or_create(label="Duplicate request")
    tvr = open_request(fake, sandbox_sid, "PROMOCODE_TRACKING")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = as_alice.post(reverse("requests:reject", args=[tvr.impact_id]), data, **headers)

    tvr.refresh_from_db()
    assert response.status_code in (200, 302, 400)
    if response.status_code == 400 or shows_an_error(response):
        assert sent(fake, tvr) == [] and tvr.state == State.NEW
    else:
        assert sent(fake, tvr) == [("reject", tvr.impact_id)] and tvr.state == State.DECLINED
