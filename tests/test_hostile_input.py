"""One person must not take the site down, and bad input gets a clear answer, never a 500.

The code tester's regular expressions run within a time bound and only for roles that can
decide; its GET carries only its own fields; paging cursors of any shape give the first page;
a NUL character anywhere in a request is refused with 400 before it reaches the database.
"""

from __future__ import annotations

import base64
import json
import re
import time
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from requests_app import patterns
from requests_app.forms import SORTS, TOO_SLOW, code_matches
from requests_app.models import State
from requests_app.paging import keyset_page
from requests_app.sandbox.models import SandboxRequest
from tests.conftest import in_account

HTMX = {"HTTP_HX_REQUEST": "true"}
TESTER_FIELDS = {"promo_code", "match_mode", "samples", "check"}
# The measured request: 11.8 s at 40 characters, x1.5 per character more.
BACKTRACKING = {"check": 1, "match_mode": "RE", "promo_code": "(a|aa)+$", "samples": "a" * 40 + "!"}


def detail_url(tvr) -> str:
    return reverse("requests:detail", args=[tvr.impact_id])


# --- regular expressions run within a time bound --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "without-js"])
def test_a_backtracking_pattern_in_the_tester_answers_within_seconds(
    as_alice, make_request, headers
):
    tvr = make_request()
    started = time.monotonic()
    response = as_alice.get(detail_url(tvr), BACKTRACKING, **headers)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert TOO_SLOW in response.content.decode()
    assert elapsed < 5  # unbounded, it took 56 s; 5 s leaves room for a loaded machine


@pytest.mark.django_db
def test_a_pattern_slow_on_codes_approved_elsewhere_stops_at_the_time_bound(as_alice, make_request):
    for partner in range(3):
        make_request(
            State="APPROVED",
            MediaPartnerId=str(900 + partner),
            PromoCodes=[
                {"Id": "1", "RequestedPromoCode": "x", "ApprovedPromoCode": "a" * 40 + "!"}
            ],
        )
    tvr = make_request()
    started = time.monotonic()
    response = as_alice.get(
        detail_url(tvr), {"check": 1, "match_mode": "RE", "promo_code": "(a|aa)+$"}, **HTMX
    )

    assert response.status_code == 200 and TOO_SLOW in response.content.decode()
    assert time.monotonic() - started < 5  # unbounded: tens of seconds or out of memory


@pytest.mark.django_db
def test_approving_a_pattern_whose_repeats_unroll_too_far_is_refused_quickly(
    as_alice, live_request
):
    tvr = live_request()
    started = time.monotonic()
    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]),
        {
            "promo_code": "(?:(?:(?:a{255}){255}){255})",
            "match_mode": "RE",
            "credit_policy": "WINNER",
        },
    )

    assert response.status_code == 400
    assert "repeats too much to check" in response.content.decode()
    assert time.monotonic() - started < 5  # unbounded: tens of seconds or out of memory
    assert SandboxRequest.objects.get(impact_id=int(tvr.impact_id)).state == State.NEW


# Patterns whose structure hides their repeats from a naive reading: character classes that
# look like groups, POSIX classes, comments, verbose mode, version 1 sets and escapes.
UNROLLING = [
    "(?:(?:(?:a{255}){255}){255})",
    "(?:(?:(?:a{200,255}){200,255}){200,255})",
    "(?:(?:(?:a{255,}){255,}){255,})",
    "(?:(?:(?:[a-z]{255}){255}){255})",
    r"(?:(?:(?:\p{L}{255}){255}){255})",
    "(?:(?:(?:(a|b){255}){255}){255})",
    "[[:](?:(?:(?:a{255}){255}){255})[:]]",
    "[[:alpha:](](?:(?:(?:a{255}){255}){255})",
    "(?:a{255}[(]){255}(?:b{255}){255}",
    r"(?#[)(?:(?:(?:a{255}){255}){255})(?#])",
    "(?x)#[\n(?:(?:(?:a{255}){255}){255})\n]",
    "(?V1)[[a]](?:(?:(?:a{255}){255}){255})",
    r"\[(?:(?:(?:a{255}){255}){255})\]",
]


@pytest.mark.parametrize("pattern", UNROLLING)
def test_patterns_that_unroll_too_far_are_refused_before_they_compile(pattern):
    started = time.monotonic()
    assert "repeats too much" in patterns.compile_error(pattern)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "pattern",
    [
        "TRAIL[0-9]+",
        "SUMMER(?=\\d)\\d{2}",
        "(?<!X)SAVE\\d+",
        "([A-Z])\\1\\d+",
        "A++B",
        "(?>AB|A)C",
        "\\p{Lu}{3}\\d{2}",
        "[[:alpha:]]{4}",
        "[A-Z0-9]{8}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{12}",
        "(?:[A-Z]{2}\\d{2}){3}",
    ],
)
def test_ordinary_patterns_compile(pattern):
    assert patterns.compile_error(pattern) == ""


def test_re_is_case_sensitive_and_whole_li_is_exact_ignoring_case():
    deadline = patterns.Deadline(1)
    codes = ["TRAIL20", "trail20", "xTRAIL20", "TRAIL20x"]
    assert code_matches("TRAIL[0-9]+", "RE", codes, deadline=deadline) == [
        ("TRAIL20", True),
        ("trail20", False),
        ("xTRAIL20", False),
        ("TRAIL20x", False),
    ]
    assert [hit for _, hit in code_matches("trail20", "LI", codes, deadline=deadline)] == [
        True,
        True,
        False,
        False,
    ]


def test_a_deadline_that_has_passed_stops_the_next_match():
    deadline = patterns.Deadline(0)
    with pytest.raises(patterns.TooSlow):
        code_matches("A+", "RE", ["AAA"], deadline=deadline)


# What the compiler unrolls, built alongside the pattern text, so the estimate can be checked
# against the truth: it may say more, never less.
_LITERALS = st.sampled_from(["a", "B", "7", "-", "#", " ", ":", "\\(", "\\[", "\\{", "\\d", "."])
_CLASSES = st.sampled_from(["[a-z]", "[(]", "[)]", "[]a]", "[^]]", "[\\]]", "[[:alpha:]]", "[{9}]"])


def _repeat(part, *, wrap: bool):
    text, size = part
    text = f"(?:{text})" if wrap else text
    return st.tuples(st.integers(0, 300), st.booleans()).map(
        lambda pair: (
            f"{text}{{{pair[0]}}}" if pair[1] else f"{text}{{1,{pair[0]}}}",
            size * max(pair[0], 1),
        )
    )


def _sequence(parts):
    return ("".join(text for text, _ in parts), sum(size for _, size in parts))


_ATOMS = st.one_of(_LITERALS, _CLASSES).map(lambda text: (text, 1))
_PATTERNS = st.recursive(
    st.one_of(_ATOMS, _ATOMS.flatmap(lambda atom: _repeat(atom, wrap=False))),
    lambda inner: st.one_of(
        inner.flatmap(lambda part: _repeat(part, wrap=True)),
        st.lists(inner, min_size=1, max_size=4).map(_sequence),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(part=_PATTERNS)
def test_the_unrolled_size_is_never_underestimated(part):
    text, size = part
    assert patterns.unrolled_size(text) >= min(size, patterns.MAX_UNROLLED + 1)


# --- input sizes are bounded ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"promo_code": "A" * 256}, "at most 255 characters"),
        ({"samples": "\n".join(f"CODE{i}" for i in range(21))}, "at most 20 codes"),
        ({"samples": "A" * 101}, "at most 100 characters"),
        ({"samples": "A\n" * 500_000}, "at most 4000 characters"),
        ({"match_mode": "XX"}, "Select a valid choice"),
        ({"match_mode": "RE", "promo_code": "[a-z"}, "does not compile"),
    ],
)
def test_the_tester_says_which_input_is_too_big_or_wrong(as_alice, make_request, params, message):
    tvr = make_request()
    data = {"check": 1, "promo_code": "TRAIL20", "match_mode": "LI", "samples": "A", **params}
    started = time.monotonic()
    response = as_alice.get(detail_url(tvr), data, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and 'class="matches"' not in body
    assert time.monotonic() - started < 5  # unbounded: tens of seconds or out of memory


# --- the tester is for the roles that decide --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "without-js"])
def test_a_viewer_cannot_use_the_code_tester(client, viewer, make_request, headers):
    tvr = make_request()
    client.force_login(viewer)
    response = client.get(detail_url(tvr), {**BACKTRACKING, "samples": "aaa"}, **headers)
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_viewer_is_not_shown_the_code_tester(client, viewer, make_request):
    tvr = make_request()
    client.force_login(viewer)
    body = client.get(detail_url(tvr)).content.decode()
    assert 'id="code-test"' not in body and "Test matches" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("person", ["alice", "admin"])
def test_reviewers_and_admins_keep_the_code_tester(client, make_request, request, person):
    tvr = make_request()
    client.force_login(request.getfixturevalue(person))
    response = client.get(
        detail_url(tvr), {"check": 1, "promo_code": "TRAIL20", "samples": "trail20"}, **HTMX
    )
    assert response.status_code == 200
    assert "<code>trail20</code> matches" in response.content.decode()


# --- the tester's GET carries only its own fields ---------------------------------------------


class _Controls(HTMLParser):
    """Forms, the controls that belong to each (inside it or naming it with form=), and every
    element that issues an htmx GET."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self.owned: dict[str, list[dict[str, str]]] = {}
        self.hx_gets: list[dict[str, str]] = []
        self.get_buttons: list[dict[str, str]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            key = attrs.get("id") or f"form-{len(self.forms)}"
            self.forms[key] = attrs
            self.owned[key] = []
            self._open.append(key)
        if tag in ("input", "textarea", "select", "button") and attrs.get("name"):
            owner = attrs.get("form") or (self._open[-1] if self._open else "")
            self.owned.setdefault(owner, []).append(attrs)
        if attrs.get("formmethod", "").lower() == "get":
            self.get_buttons.append(attrs)
        if "hx-get" in attrs:
            self.hx_gets.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form" and self._open:
            self._open.pop()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"check": 1, "promo_code": "X", "samples": "X"}])
def test_the_rendered_tester_cannot_put_the_csrf_token_into_its_get(as_alice, make_request, params):
    tvr = make_request()
    html = as_alice.get(detail_url(tvr), params).content.decode()
    page = _Controls()
    page.feed(html)

    assert "csrfmiddlewaretoken" in html  # the approve form still has one
    assert page.get_buttons == []  # no button turns a POST form into a GET
    url = in_account(detail_url(tvr))
    get_forms = [
        key
        for key, attrs in page.forms.items()
        if attrs.get("method", "get").lower() == "get" and attrs.get("action") == url
    ]
    assert get_forms == ["code-test"]
    assert {c["name"] for c in page.owned["code-test"]} == TESTER_FIELDS
    tester_gets = [attrs for attrs in page.hx_gets if "check=1" in attrs["hx-get"]]
    assert len(tester_gets) >= 4  # the code, both match modes, the codes box, the button
    for attrs in tester_gets:
        sent = {name.strip() for name in attrs.get("hx-params", "*").split(",")}
        assert sent <= TESTER_FIELDS, attrs
        included = {part.strip() for part in attrs.get("hx-include", "").split(",")}
        assert not any(page.forms.get(part.lstrip("#")) for part in included), attrs


# --- paging cursors of any shape give the first page ------------------------------------------


def _cursor(raw) -> str:
    if isinstance(raw, bytes):
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


# Cursors no sort accepts: not ours, out of range, or not even base64 JSON.
BROKEN_CURSORS = [
    _cursor([{"t": "x"}, 1]),
    _cursor([{"t": "0001-01-01T00:00:00+05:00"}, 1]),
    _cursor([{"t": "9999-12-31T23:59:59-05:00"}, 1]),
    _cursor([{"u": 1}, 1]),
    _cursor([1, 1]),
    _cursor([1.5, 1]),
    _cursor([True, 1]),
    _cursor([["x"], 1]),
    _cursor(["x", True]),
    _cursor(["x", "1"]),
    _cursor(["x", 10**30]),
    _cursor(["x", -1]),
    _cursor(["x", 1.0]),
    _cursor(["a\x00b", 1]),
    _cursor(["x" * 2000, 1]),
    _cursor([None, 2**63]),
    _cursor(["x", 1, 2]),
    _cursor({"a": 1, "b": 2}),
    _cursor("ab"),
    _cursor(b'["\\ud800", 1]'),
    _cursor(b"[" * 600 + b"]" * 600),
    _cursor(b"\xff\xfe"),
    _cursor(b"not json"),
    "!!!",
    "=",
    "²٣",
    "A" * 5000,
]
# Well-formed, but for the other kind of sort: a date sort given text, a text sort a date.
TEXT_CURSORS = ["WyJ4IiwxXQ", _cursor(["2026-01-01T00:00:00+00:00", 1])]  # the first: ["x",1]
DATE_CURSORS = [_cursor([{"t": "2026-01-01T00:00:00+00:00"}, 1]), _cursor([{"t": "2026-01-01"}, 1])]


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_every_malformed_or_wrong_typed_cursor_gives_the_first_page_of_every_sort(
    as_alice, make_request, sort
):
    for n in range(3):
        make_request(MediaPartnerName=f"Partner {n}", CampaignName=f"Campaign {n}")

    def rows(response) -> list[str]:
        return re.findall(r'data-row[^>]*data-id="([^"]+)"', response.content.decode())

    first = rows(as_alice.get(reverse("requests:list"), {"sort": sort}, **HTMX))
    assert len(first) == 3
    dated = SORTS[sort][1] in ("date_needed", "date_placed", "sla_due_at")
    for cursor in BROKEN_CURSORS + (TEXT_CURSORS if dated else DATE_CURSORS):
        for key in ("after", "before"):
            response = as_alice.get(reverse("requests:list"), {"sort": sort, key: cursor}, **HTMX)
            assert response.status_code == 200, (sort, key, cursor)
            assert rows(response) == first, (sort, key, cursor)


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(SORTS))
def test_cursors_the_list_makes_still_page_every_sort(make_request, sort):
    from requests_app.models import TrackingValueRequest

    for n in range(5):
        make_request(MediaPartnerName=f"Partner {n}", CampaignName=f"Campaign {n}")
    _, column, descending = SORTS[sort]
    rows = TrackingValueRequest.objects.all()
    seen, page = [], keyset_page(rows, column, descending=descending, size=2)
    while True:
        seen += [r.pk for r in page.rows]
        if not page.next_cursor:
            break
        page = keyset_page(rows, column, descending=descending, after=page.next_cursor, size=2)
    assert sorted(seen) == sorted(rows.values_list("pk", flat=True))
    back = keyset_page(rows, column, descending=descending, before=page.prev_cursor, size=2)
    assert back.rows and back.rows[-1].pk not in [r.pk for r in page.rows]


# --- a NUL character is refused before it reaches the database --------------------------------

NUL_MESSAGE = b"The request contains a NUL character."


@pytest.mark.django_db
def test_a_nul_in_any_path_is_refused(as_alice):
    for path in ("/r/%00/", "/r/a%00b/approve/", "/audit/%00", "/%00", "/views/%00/delete/"):
        for method in (as_alice.get, as_alice.post):
            response = method(path)
            assert response.status_code == 400, path
            assert response.content == NUL_MESSAGE


@pytest.mark.django_db
def test_a_nul_in_a_query_or_form_is_refused(as_alice, make_request):
    tvr = make_request()
    cases = [
        (as_alice.get, reverse("requests:list"), {"q": "a\x00b"}),
        (as_alice.get, reverse("requests:list"), {"after": "\x00"}),
        (as_alice.get, reverse("requests:list"), {"x\x00": "1"}),
        (as_alice.get, detail_url(tvr), {"check": 1, "promo_code": "A\x00", "samples": "A"}),
        (as_alice.get, detail_url(tvr), {"check": 1, "promo_code": "A", "samples": "\x00"}),
        (as_alice.get, reverse("requests:audit"), {"actor": "\x00"}),
        (as_alice.post, reverse("requests:bulk_reject"), {"ids": ["a\x00b"]}),
        (
            as_alice.post,
            reverse("requests:approve", args=[tvr.impact_id]),
            {"promo_code": "A\x00", "credit_policy": "WINNER", "match_mode": "LI"},
        ),
        (as_alice.post, reverse("requests:comment", args=[tvr.impact_id]), {"body": "\x00"}),
        (as_alice.post, reverse("requests:save_view"), {"name": "n", "query": "q=\x00"}),
    ]
    for method, url, data in cases:
        response = method(url, data)
        assert (response.status_code, response.content) == (400, NUL_MESSAGE), (url, data)
    tvr.refresh_from_db()
    assert tvr.state == State.NEW


@pytest.mark.django_db
def test_a_nul_in_a_cookie_is_refused(client, alice):
    client.force_login(alice)
    # A quoted cookie value may spell NUL as an octal escape; Django decodes it.
    response = client.get(reverse("requests:list"), HTTP_COOKIE='sessionid="abcdefgh\\000"')
    assert (response.status_code, response.content) == (400, NUL_MESSAGE)


@pytest.mark.django_db
def test_a_nul_free_request_passes_through(as_alice, make_request):
    tvr = make_request()
    response = as_alice.get(detail_url(tvr), {"check": 1, "promo_code": "%00", "samples": "%00"})
    assert response.status_code == 200


# --- a `next` that reads like a view name is still a URL ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["0", "list"])
def test_a_next_that_looks_like_a_view_name_is_followed_as_a_url(as_alice, make_request, target):
    tvr = make_request()
    response = as_alice.post(reverse("requests:claim", args=[tvr.impact_id]), {"next": target})
    assert (response.status_code, response["Location"]) == (302, target)
