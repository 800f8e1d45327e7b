"""Whatever a browser (or anyone) sends, no URL and no form answers 500.

Property-based: hypothesis draws query strings and form posts from the forms' own field names
plus anything else, with values ranging from plausible to hostile (NUL characters, digits
that are not ASCII, a megabyte of text, 10**30, paging cursors of every sort's shape and of
none). An invalid post is refused with 400 before anything reaches impact.com; a valid one
sends exactly one call; a NUL anywhere is refused with 400. CI runs these on SQLite and on
PostgreSQL, which refuses NUL in text.
"""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.urls import get_resolver, reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from requests_app import sync
from requests_app.forms import SORTS, FilterForm, RejectForm
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
            # NUL, digits str.isdigit() accepts but int() may not, and huge values.
            "a\x00b",
            "\x00" * 3,
            "²",
            "٣",
            "³²",
            "١٢٣",
            "x" * 1_000_000,
            str(10**30),
            str(-(10**30)),
            "1e309",
        ]
    ),
    any_text,
)


def _encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Paging cursors: (value, id) pairs of every sort's shape (text, {"t": time}, NULL) and of
# none, with ids in and out of range, plus strings that are not base64 JSON at all.
cursor_values = st.one_of(
    st.none(),
    any_text,
    st.sampled_from(["x", "a\x00b", "\ud800", "2026-01-01T00:00:00+00:00"]),
    st.builds(lambda t: {"t": t}, st.one_of(any_text, st.datetimes().map(str))),
    st.builds(lambda t: {"t": t.isoformat()}, st.datetimes(timezones=st.timezones())),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
cursor_ids = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([True, "1", 1.5, None]))
cursors = st.one_of(
    st.tuples(cursor_values, cursor_ids).map(
        lambda pair: _encoded(json.dumps(list(pair)).encode())
    ),
    st.binary(max_size=40).map(_encoded),
    any_text,
)


def form_data(field_names: list[str]):
    """Any subset of the form's fields (each one value or several), plus stray keys."""
    values = st.one_of(plausible, st.lists(plausible, min_size=1, max_size=3))
    known = st.dictionaries(st.sampled_from(field_names), values, max_size=len(field_names))
    stray = st.dictionaries(any_text.filter(bool), values, max_size=2)
    return st.tuples(known, stray).map(lambda pair: {**pair[1], **pair[0]})


FILTER_FIELDS = [*FilterForm.base_fields, "after", "before", "page"]


def carries_nul(*values) -> bool:
    """Whether a NUL is anywhere in these strings, lists or dicts (keys included)."""
    for value in values:
        if isinstance(value, dict):
            if carries_nul(*value.keys(), *value.values()):
                return True
        elif isinstance(value, list | tuple):
            if carries_nul(*value):
                return True
        elif "\x00" in str(value):
            return True
    return False


@EXAMPLES
@given(
    params=form_data(FILTER_FIELDS),
    sort=st.sampled_from(list(SORTS)),
    cursor=st.tuples(st.sampled_from(["after", "before"]), cursors),
)
@example(params={"after": "eyJ2IjpbMSwyXX0"}, sort="partner", cursor=("after", "WyJ4IiwxXQ"))
@example(
    params={"needed_from": "2026-13-45", "campaign": "1e9"}, sort="needed", cursor=("before", "!!")
)
@example(params={"q": "a\x00b"}, sort="needed", cursor=("after", "WyJ4IiwxXQ"))
def test_any_query_string_renders_the_list_or_its_partial(
    as_alice, make_request, params, sort, cursor
):
    make_request()
    params = {"sort": sort, cursor[0]: cursor[1], **params}
    expected = 400 if carries_nul(params) else 200
    assert as_alice.get(reverse("requests:list"), params).status_code == expected
    partial = as_alice.get(reverse("requests:list"), params, HTTP_HX_REQUEST="true")
    assert partial.status_code == expected


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


# --- every URL, every form ---------------------------------------------------------------------


class _FieldNames(HTMLParser):
    """The name of every input, select, textarea and button on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("name")
        if tag in ("input", "select", "textarea", "button") and name:
            self.names.add(name)


# Stand-ins for path arguments, replaced by hostile values in the URL text.
REQUEST_ID = "PATHID"
NUMBER = 987654321
path_ids = st.sampled_from(["0", "²", "٣", "a\x00b", "\x00", "x" * 10_000, str(10**30), "%"])
path_numbers = st.sampled_from(["1", "0", str(10**30), str(2**63), "00000000000000000001"])


def app_urls() -> dict[str, str]:
    """Every URL of the dashboard, with stand-ins for its path arguments."""
    app = next(p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "requests")
    urls = {}
    for pattern in app.url_patterns:
        names = pattern.pattern.regex.groupindex
        args = {k: REQUEST_ID if k == "impact_id" else NUMBER for k in names}
        urls[pattern.name] = reverse(f"requests:{pattern.name}", kwargs=args)
    return urls


def test_any_request_to_any_url_is_answered_without_a_500(client, admin, fake, sandbox_sid):
    RejectionReason.objects.get_or_create(label="Duplicate request")
    client.force_login(admin)
    opened = [open_request(fake, sandbox_sid, kind).impact_id for kind in OPEN_PAYLOADS]
    urls = app_urls()
    assert len(urls) >= 18
    # Every field any page offers, read from the pages themselves, so new forms are covered.
    fields = _FieldNames()
    for name, url in urls.items():
        if (REQUEST_ID in url and name != "detail") or str(NUMBER) in url:
            continue
        page = client.get(url.replace(REQUEST_ID, opened[0]))
        if not page.streaming:
            fields.feed(page.content.decode())
    names = sorted(fields.names | {*FILTER_FIELDS, "check", "part", "samples", "was", "kind"})
    assert {"promo_code", "ids", "body", "to", "csrfmiddlewaretoken"} <= set(names)

    @settings(EXAMPLES, max_examples=150)
    @given(
        name=st.sampled_from(sorted(urls)),
        request_id=st.one_of(st.sampled_from(opened), path_ids),
        number=path_numbers,
        method=st.sampled_from(["get", "post"]),
        params=form_data(names),
        data=form_data(names),
        htmx=st.booleans(),
    )
    @example(name="detail", request_id="\x00", number="1", method="get", params={}, data={}, htmx=0)
    @example(
        name="bulk_reject",
        request_id=opened[0],
        number="1",
        method="post",
        params={},
        data={"ids": "a\x00b"},
        htmx=0,
    )
    @example(
        name="list",
        request_id=opened[0],
        number="1",
        method="get",
        params={"after": "WyJ4IiwxXQ", "q": "²"},
        data={},
        htmx=1,
    )
    def check(name, request_id, number, method, params, data, htmx):
        url = (
            urls[name].replace(REQUEST_ID, quote(request_id, safe="")).replace(str(NUMBER), number)
        )
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        if method == "get":
            response = client.get(url, params, **headers)
        else:
            response = client.post(url, data, **headers)
        assert response.status_code < 500, (url, method, response.status_code)
        in_path = request_id if REQUEST_ID in urls[name] else ""
        if carries_nul(in_path, params if method == "get" else data):
            assert response.status_code == 400, (url, method)

    check()
