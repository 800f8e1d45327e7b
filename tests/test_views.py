"""The review pages: list (plain and htmx), detail, approve and reject by type, team actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests_app.models import AuditEvent, Decision, TrackingValueRequest
from requests_app.sandbox.models import SandboxRequest
from tests.conftest import in_account

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def promo(live_request, **overrides):
    return live_request(RequestType="PROMOCODE_TRACKING", **overrides)


def url_request(live_request, **overrides):
    return live_request(
        RequestType="BRANDED_URL_TRACKING",
        PromoCodes=[],
        UniqueUrls=[{"Id": "1", "Url": "https://www.acme.example/p/x"}],
        **overrides,
    )


def phone_request(live_request, **overrides):
    return live_request(
        RequestType="PHONE_NUMBER_TRACKING",
        PromoCodes=[],
        PhoneNumbers=[{"Id": "1", "AssignedPhoneNumberId": "", "AssignedPhoneNumber": ""}],
        **overrides,
    )


# --- sign-in --------------------------------------------------------------------------------


def test_every_page_needs_a_login(client, make_request):
    tvr = make_request()
    for url in (
        reverse("requests:list"),
        reverse("requests:detail", args=[tvr.impact_id]),
        reverse("requests:audit"),
        reverse("requests:team"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_login_page_is_our_own(client):
    response = client.get(reverse("login"))
    assert b"TVR Dashboard" in response.content and b'name="password"' in response.content


# --- the list -------------------------------------------------------------------------------


def test_list_shows_open_requests_with_columns(as_alice, make_request):
    make_request(MediaPartnerName="Trail Deals Weekly", DealName="Spring Sale", DealId="3001")
    make_request(State="APPROVED", MediaPartnerName="Approved Partner")
    response = as_alice.get(reverse("requests:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Trail Deals Weekly" in body and "Spring Sale" in body
    assert 'title="Approved Partner"' not in body  # the Open tab is the default
    assert "HX-Request" in response["Vary"]


def test_htmx_filter_returns_only_the_results_partial(as_alice, make_request):
    make_request(RequestType="BRANDED_URL_TRACKING", MediaPartnerName="Url Partner", PromoCodes=[])
    make_request(MediaPartnerName="Code Partner")
    response = as_alice.get(
        reverse("requests:list"), {"request_type": "BRANDED_URL_TRACKING"}, **HTMX
    )
    body = response.content.decode()
    assert '<div id="results"' in body and "<html" not in body
    assert "Url Partner" in body and "Code Partner" not in body


def test_history_restore_gets_the_full_page(as_alice, make_request):
    make_request()
    response = as_alice.get(
        reverse("requests:list"), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert b"<html" in response.content


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"state": "APPROVED"}, "Yes Approved", "Open One"),
        ({"state": "all"}, "Yes Approved", "nothing-hidden"),
        ({"q": "open one"}, "Open One", "Yes Approved"),
        ({"partner": "2552842"}, "Open One", "Other Partner"),
        ({"campaign": "1000"}, "Open One", "Other Partner"),
        ({"queue": "overdue"}, "Late One", "Open One"),
    ],
)
def test_filters(as_alice, make_request, params, shown, hidden):
    from datetime import timedelta

    from django.utils import timezone

    make_request(MediaPartnerName="Open One")
    make_request(MediaPartnerName="Yes Approved", State="APPROVED")
    make_request(MediaPartnerName="Other Partner", MediaPartnerId="77", CampaignId="1001")
    make_request(
        MediaPartnerName="Late One", DateNeeded=(timezone.now() - timedelta(days=2)).isoformat()
    )
    # The results only: the filter bar's choices name every partner.
    body = as_alice.get(reverse("requests:list"), params, **HTMX).content.decode()
    assert shown in body
    assert hidden not in body


def test_state_tabs_count_under_the_filters(as_alice, make_request):
    make_request(MediaPartnerName="Zebra")
    make_request(MediaPartnerName="Zebra", State="DECLINED")
    make_request(MediaPartnerName="Yak")
    body = as_alice.get(reverse("requests:list"), {"q": "zebra"}, **HTMX).content.decode()
    assert 'Open <span class="count">1</span>' in body
    assert 'Declined <span class="count">1</span>' in body


@pytest.mark.parametrize(
    "garbage",
    [
        {"state": "NOPE", "campaign": "x", "partner": "-1", "needed_from": "2026-13-45"},
        {"sort": "drop table", "after": "!!!", "before": "eyJ4Ijox"},
        {"q": "%_\\" * 30, "deal": "9" * 40},
    ],
)
def test_garbage_query_strings_never_500(as_alice, make_request, garbage):
    make_request()
    assert as_alice.get(reverse("requests:list"), garbage).status_code == 200


def test_keyset_pages_walk_every_row_once(as_alice, make_request):
    for n in range(120):
        make_request(MediaPartnerName=f"P{n:03d}")
    seen, params = [], {"sort": "partner"}
    while True:
        response = as_alice.get(reverse("requests:list"), params)
        page = response.context["page"]
        seen += [r.media_partner_name for r in page.rows]
        if not page.next_cursor:
            break
        params = {"sort": "partner", "after": page.next_cursor}
    assert seen == [f"P{n:03d}" for n in range(120)]
    back = as_alice.get(reverse("requests:list"), {"sort": "partner", "before": page.prev_cursor})
    assert [r.media_partner_name for r in back.context["page"].rows] == seen[50:100]


def test_empty_cache_says_run_a_sync(as_alice):
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert "No requests yet" in body


def test_no_matches_offers_to_clear_filters(as_alice, make_request):
    make_request()
    body = as_alice.get(reverse("requests:list"), {"q": "zzzzzz"}).content.decode()
    assert "No requests match" in body and "Clear filters" in body


def test_list_shows_the_holder(as_alice, make_request, bob):
    tvr = make_request()
    TrackingValueRequest.objects.filter(pk=tvr.pk).update(assigned_to=bob)
    assert "bob" in as_alice.get(reverse("requests:list")).content.decode()


def test_list_query_count_is_constant(as_alice, make_request, django_assert_max_num_queries):
    for _ in range(60):
        make_request()
    as_alice.get(reverse("requests:list"))  # warm the choices cache
    with django_assert_max_num_queries(6):
        as_alice.get(reverse("requests:list"))
    with django_assert_max_num_queries(6):  # new filters: the tab counts are counted
        as_alice.get(reverse("requests:list"), {"q": "trail"}, **HTMX)
    with django_assert_max_num_queries(5):  # and then cached until the data changes
        as_alice.get(reverse("requests:list"), {"q": "trail"}, **HTMX)


def test_filter_choices_follow_a_sync_but_not_a_claim(
    as_alice, alice, make_request, django_assert_max_num_queries
):
    from requests_app import queues

    first = make_request(MediaPartnerName="Aardvark")
    url = reverse("requests:list")
    as_alice.get(url)  # warm every cache
    queues.claim(request=first, user=alice)
    # Tab and queue counts are recounted (2 queries); the campaigns, partners and deals are not.
    with django_assert_max_num_queries(6):
        as_alice.get(url)
    make_request(MediaPartnerName="Zebu", MediaPartnerId="4242")  # a sync wrote a row
    assert ">Zebu</option>" in as_alice.get(url).content.decode()


# --- the detail page ------------------------------------------------------------------------


def test_detail_shows_fields_deal_and_escapes_partner_text(as_alice, make_request):
    tvr = make_request(
        AdditionalInstructions='<script>alert("x")</script>',
        MediaPartnerName="<b>Bold</b>",
        DealId="3001",
        DealName="Spring Sale",
        DealType="GENERAL_SALE",
        DealScope="ENTIRE_STORE",
        DealState="ACTIVE",
        DiscountType="PERCENT",
        DiscountPercent="20",
    )
    body = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<b>Bold</b>" not in body
    assert "20% off the entire store." in body
    assert "in 3 days" in body


def test_detail_of_another_account_is_404(as_alice, make_request):
    tvr = make_request(account_sid="IROTHER")
    assert as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).status_code == 404


@pytest.mark.parametrize(
    ("maker", "field"),
    [(promo, "promo_code"), (url_request, "url_id"), (phone_request, "assigned_phone_number_id")],
)
def test_approve_form_fields_follow_the_type(as_alice, live_request, maker, field):
    tvr = maker(live_request)
    body = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert f'name="{field}"' in body
    for other in {"promo_code", "url_id", "assigned_phone_number_id"} - {field}:
        assert f'name="{other}"' not in body


def test_promo_code_prefills_from_request_then_deal_default(as_alice, live_request):
    asked = promo(live_request)
    unasked = promo(
        live_request,
        PromoCodes=[{"Id": "1", "RequestedPromoCode": "", "ApprovedPromoCode": ""}],
        DealDefaultPromoCode="DEALCODE",
    )
    assert (
        'value="TRAIL20"'
        in as_alice.get(reverse("requests:detail", args=[asked.impact_id])).content.decode()
    )
    assert (
        'value="DEALCODE"'
        in as_alice.get(reverse("requests:detail", args=[unasked.impact_id])).content.decode()
    )


def test_code_check_partial_tests_samples_and_warns_of_other_partners(
    as_alice, live_request, make_request
):
    make_request(
        State="APPROVED",
        MediaPartnerId="999",
        MediaPartnerName="Rival",
        PromoCodes=[{"Id": "1", "RequestedPromoCode": "TRAIL20", "ApprovedPromoCode": "TRAIL20"}],
    )
    tvr = promo(live_request)
    url = reverse("requests:detail", args=[tvr.impact_id])
    body = as_alice.get(
        url,
        {
            "check": 1,
            "promo_code": "TRAIL[0-9]+",
            "match_mode": "RE",
            "samples": "TRAIL20\ntrail20",
        },
        **HTMX,
    ).content.decode()
    assert '<div id="code-check"' in body and "<html" not in body
    assert "<code>TRAIL20</code> matches" in body
    assert "<code>trail20</code> does not match" in body  # RE is case-sensitive
    assert "Rival" in body


def test_code_check_works_without_javascript(as_alice, live_request):
    tvr = promo(live_request)
    body = as_alice.get(
        reverse("requests:detail", args=[tvr.impact_id]),
        {"check": 1, "promo_code": "abc", "match_mode": "LI", "samples": "ABC"},
    ).content.decode()
    assert "<html" in body and "<code>ABC</code> matches" in body


def test_approve_promo_code_plain_post_redirects_and_updates_row(as_alice, live_request):
    tvr = promo(live_request)
    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]),
        {"promo_code": "TRAIL20", "credit_policy": "WINNER", "match_mode": "LI"},
    )
    assert response.status_code == 302
    tvr.refresh_from_db()
    assert tvr.state == "APPROVED" and tvr.approved_value == "TRAIL20"
    sandbox = SandboxRequest.objects.get(impact_id=int(tvr.impact_id))
    assert sandbox.payload["PromoCodes"][0]["CreditPolicy"] == "WINNER"
    page = as_alice.get(response["Location"]).content.decode()
    assert "Approved" in page and "sent to impact.com" in page


def test_approve_branded_url_over_htmx_returns_decision_fragment(as_alice, live_request):
    tvr = url_request(live_request)
    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "42"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert '<section id="decision"' in body and "<html" not in body
    assert "tvr:decided" in response["HX-Trigger"]
    tvr.refresh_from_db()
    assert tvr.state == "APPROVED"


def test_approve_phone_number(as_alice, live_request):
    tvr = phone_request(live_request)
    as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]), {"assigned_phone_number_id": "7"}
    )
    tvr.refresh_from_db()
    assert tvr.state == "APPROVED"


@pytest.mark.parametrize(
    ("maker", "data", "message"),
    [
        (
            promo,
            {"promo_code": "(", "credit_policy": "ALWAYS", "match_mode": "RE"},
            "does not compile",
        ),
        (promo, {"promo_code": "", "credit_policy": "ALWAYS", "match_mode": "LI"}, "required"),
        (
            promo,
            {"promo_code": "X", "credit_policy": "SOMETIMES", "match_mode": "LI"},
            "valid choice",
        ),
        (url_request, {"url_id": "-3"}, "greater than or equal to 1"),
        (url_request, {"url_id": "abc"}, "whole number"),
        (phone_request, {"assigned_phone_number_id": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_approvals_are_refused_here_first(as_alice, live_request, maker, data, message):
    tvr = maker(live_request)
    response = as_alice.post(reverse("requests:approve", args=[tvr.impact_id]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Decision.objects.exists()
    assert SandboxRequest.objects.get(impact_id=int(tvr.impact_id)).state == "NEW"


def test_impact_refusal_is_shown_verbatim_and_audited(as_alice, live_request, make_request):
    # The sandbox refuses a code already approved for another partner, as impact.com does.
    other = promo(live_request, MediaPartnerId="999")
    as_alice.post(
        reverse("requests:approve", args=[other.impact_id]),
        {"promo_code": "MINE", "credit_policy": "WINNER", "match_mode": "LI"},
    )
    tvr = promo(live_request)
    # The reviewer confirmed past our own warning (tests/test_triage.py asks for that yes).
    response = as_alice.post(
        reverse("requests:approve", args=[tvr.impact_id]),
        {
            "promo_code": "MINE",
            "credit_policy": "WINNER",
            "match_mode": "LI",
            "confirm_taken": "on",
        },
        follow=True,
    )
    assert "already assigned to another partner" in response.content.decode()
    tvr.refresh_from_db()
    assert tvr.state == "NEW"
    event = AuditEvent.objects.filter(request_impact_id=tvr.impact_id, action="approve").get()
    assert event.outcome == "conflict" and event.response_status == 400


def test_reject_with_reason(as_alice, live_request):
    tvr = promo(live_request)
    response = as_alice.post(
        reverse("requests:reject", args=[tvr.impact_id]),
        {"reason_text": "Not our audience"},
        **HTMX,
    )
    assert response.status_code == 200
    tvr.refresh_from_db()
    assert tvr.state == "DECLINED"
    assert Decision.objects.get(request=tvr).reason == "Not our audience"


def test_decided_request_offers_no_actions(as_alice, make_request):
    tvr = make_request(State="APPROVED")
    body = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert 'id="approve-form"' not in body and "Reject…" not in body
    assert "Approved" in body


def test_second_approve_is_told_who_decided(as_alice, client, bob, live_request):
    tvr = promo(live_request)
    data = {"promo_code": "TRAIL20", "credit_policy": "WINNER", "match_mode": "LI"}
    as_alice.post(reverse("requests:approve", args=[tvr.impact_id]), data)
    client.force_login(bob)
    response = client.post(reverse("requests:approve", args=[tvr.impact_id]), data, follow=True)
    assert "alice already approved this request" in response.content.decode()
    assert Decision.objects.filter(request=tvr).count() == 1


def test_acting_on_a_request_held_by_someone_else_asks_first(as_alice, bob, live_request):
    tvr = url_request(live_request)
    TrackingValueRequest.objects.filter(pk=tvr.pk).update(assigned_to=bob)
    url = reverse("requests:approve", args=[tvr.impact_id])
    response = as_alice.post(url, {"url_id": "5"})
    assert response.status_code == 409
    assert "bob</strong> is working on this request" in response.content.decode()
    as_alice.post(url, {"url_id": "5", "confirm": "True"})
    decision = Decision.objects.get(request=tvr)
    assert decision.overrode_holder == "bob"


def test_undo_inside_the_window(as_alice, live_request, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    tvr = url_request(live_request)
    as_alice.post(reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "5"})
    decision = Decision.objects.get(request=tvr)
    assert decision.status == "queued"
    page = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert "Undo" in page
    as_alice.post(reverse("requests:undo", args=[tvr.impact_id, decision.pk]))
    decision.refresh_from_db()
    assert decision.status == "undone"
    assert SandboxRequest.objects.get(impact_id=int(tvr.impact_id)).state == "NEW"


# --- team actions ---------------------------------------------------------------------------


def test_claim_release_and_comment(as_alice, make_request):
    tvr = make_request()
    as_alice.post(reverse("requests:claim", args=[tvr.impact_id]))
    tvr.refresh_from_db()
    assert tvr.assigned_to.username == "alice"
    as_alice.post(reverse("requests:comment", args=[tvr.impact_id]), {"body": "<i>on it</i>"})
    body = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert "&lt;i&gt;on it&lt;/i&gt;" in body and "claimed it" in body
    as_alice.post(reverse("requests:release", args=[tvr.impact_id]))
    tvr.refresh_from_db()
    assert tvr.assigned_to is None


def test_bulk_reject_one_decision_and_audit_event_each(as_alice, live_request):
    rows = [promo(live_request) for _ in range(3)]
    response = as_alice.post(
        reverse("requests:bulk_reject"), {"ids": [r.impact_id for r in rows], "reason": "Spam"}
    )
    assert response.status_code == 302
    assert set(TrackingValueRequest.objects.values_list("state", flat=True)) == {"DECLINED"}
    assert AuditEvent.objects.filter(action="reject", outcome="success").count() == 3


def test_saved_view_round_trip(as_alice):
    as_alice.post(
        reverse("requests:save_view"),
        {"name": "Late codes", "query": "queue=overdue", "shared": "on"},
    )
    body = as_alice.get(reverse("requests:saved_views"), **HTMX).content.decode()
    assert "Late codes" in body and "queue=overdue" in body


def test_sync_button_starts_a_sync_for_admins(client, admin, live_request):
    live_request()
    client.force_login(admin)
    response = client.post(reverse("requests:sync"), **HTMX)
    assert response.status_code == 200
    assert 'id="sync-status"' in response.content.decode()


def test_audit_page_filters_and_csv_export(client, admin, live_request):
    tvr = url_request(live_request, AdditionalInstructions="=cmd")
    client.force_login(admin)
    client.post(
        reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "5", "note": "=SUM(1)"}
    )
    page = client.get(reverse("requests:audit"), {"action": "approve"}).content.decode()
    assert tvr.impact_id in page
    response = client.get(reverse("requests:audit_export"), {"action": "approve"})
    csv_text = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    lines = csv_text.strip().splitlines()
    assert len(lines) == 2 and tvr.impact_id in lines[1]


def test_team_page_draws_charts_with_numbers(client, admin, live_request):
    tvr = url_request(live_request)
    client.force_login(admin)
    client.post(reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "5"})
    body = client.get(reverse("requests:team")).content.decode()
    assert "<svg" in body and "ada" in body


def test_cached_counts_follow_every_change_at_once(as_alice, make_request, alice):
    from requests_app import queues

    first = make_request()
    url = reverse("requests:list")
    body = as_alice.get(url).content.decode()
    assert 'Open <span class="count">1</span>' in body
    assert 'My queue <span class="count">0</span>' in body

    make_request()  # a sync stored another request
    queues.claim(request=first, user=alice)
    body = as_alice.get(url).content.decode()
    assert 'Open <span class="count">2</span>' in body
    assert 'My queue <span class="count">1</span>' in body


def test_top_bar_links_every_queue_and_marks_the_one_shown(as_alice, make_request):
    make_request()
    body = as_alice.get(reverse("requests:list"), {"queue": "mine"}).content.decode()
    nav = body[body.index('aria-label="Queues"') : body.index("</nav>")]
    assert nav.count("<a ") == 5
    here = in_account("")
    assert f'<a href="{here}/?queue=mine" aria-current="page">My queue' in nav
    assert f'<a href="{here}/?queue=unassigned">Unassigned <span class="count">1</span>' in nav
    assert nav.count("aria-current") == 1
    audit = as_alice.get(reverse("requests:audit")).content.decode()
    assert "aria-current" not in audit[: audit.index("</nav>")]


def test_detail_query_count_is_constant(
    as_alice, alice, bob, make_request, django_assert_max_num_queries
):
    """Everything the busiest detail page shows, in at most 6 queries however much there is."""
    from requests_app import queues

    make_request(
        State="APPROVED",
        MediaPartnerId="999",
        MediaPartnerName="Rival",
        PromoCodes=[{"Id": "1", "RequestedPromoCode": "TRAIL20", "ApprovedPromoCode": "TRAIL20"}],
    )
    tvr = make_request()  # a promo code request asking for TRAIL20: the code check runs
    url = reverse("requests:detail", args=[tvr.impact_id])

    def add_history(n: int) -> None:
        for i in range(n):
            make_request()  # the same partner's other requests
            queues.comment(request=tvr, user=alice, body=f"note number {i}")
        Decision.objects.create(
            request=tvr, action="approve", status="failed", decided_by=bob,
            response_message=f"impact.com said no ({n})",
        )  # fmt: skip

    add_history(1)
    as_alice.get(url)  # warm the cached counts and team choices
    with django_assert_max_num_queries(6):
        body = as_alice.get(url).content.decode()
    assert "Already approved for another partner" in body and "Rival" in body
    assert "impact.com said no (1)" in body and "note number 0" in body

    add_history(12)
    as_alice.get(url)
    with django_assert_max_num_queries(6):
        body = as_alice.get(url).content.decode()
    assert "impact.com said no (12)" in body  # the latest failed attempt
    assert "note number 11" in body and body.count('<blockquote class="instructions">') == 13
    assert f'<option value="{bob.pk}"' in body  # reviewers to assign to

    Decision.objects.create(request=tvr, action="approve", status="queued", decided_by=bob)
    with django_assert_max_num_queries(6):
        body = as_alice.get(url).content.decode()
    assert "queued by bob" in body


def test_team_choices_follow_role_and_reason_changes_at_once(as_alice, alice, make_request):
    from django.contrib.auth.models import User

    from requests_app import roles
    from requests_app.models import Account, RejectionReason

    tvr = make_request()
    url = reverse("requests:detail", args=[tvr.impact_id])
    as_alice.get(url)  # cached now
    carol = User.objects.create_user("carol")
    assert ">carol</option>" not in as_alice.get(url).content.decode()  # no role yet

    roles.grant(carol, tvr.account_sid, roles.REVIEWER)
    assert ">carol</option>" in as_alice.get(url).content.decode()
    carol.is_active = False
    carol.save()
    assert ">carol</option>" not in as_alice.get(url).content.decode()

    reason = RejectionReason.objects.create(account_sid=tvr.account_sid, label="Code too generic")
    assert "Code too generic" in as_alice.get(url).content.decode()
    reason.active = False
    reason.save()
    assert "Code too generic" not in as_alice.get(url).content.decode()

    version = Account.objects.get(sid=tvr.account_sid).team_version
    alice.last_login = None
    alice.save(update_fields=["last_login"])  # a sign-in is no change to the team
    assert Account.objects.get(sid=tvr.account_sid).team_version == version


def test_audit_page_query_count_is_constant(
    client, admin, make_request, django_assert_max_num_queries
):
    from requests_app import audit

    make_request()  # an account with cached requests, as after a first sync
    client.force_login(admin)

    def add(n: int) -> None:
        for i in range(n):
            audit.record(action="claim", outcome="success", actor=admin, request_impact_id=str(i))

    # Session, user, account, and the newest events of each visible account (the deployment's
    # and the sign-ins'), each through its own index.
    add(3)
    client.get(reverse("requests:audit"))  # warm the cached counts
    with django_assert_max_num_queries(5):
        assert client.get(reverse("requests:audit")).status_code == 200
    add(150)
    client.get(reverse("requests:audit"))
    with django_assert_max_num_queries(5):
        body = client.get(reverse("requests:audit")).content.decode()
    assert body.count("<tr><td><time") == 100 and "Older events" in body


# --- the list's rows and filter bar, as the page renders them -------------------------------


@pytest.mark.parametrize("who", ["alice", "vera"])
def test_list_rows_show_marks_labels_holder_and_escape_partner_text(
    client, alice, viewer, make_request, who
):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    overdue = make_request(DateNeeded=(now - timedelta(days=2)).isoformat())
    soon = make_request(DateNeeded=(now + timedelta(hours=20)).isoformat())
    make_request(DateNeeded=None, NumberRequested=None, DealName="")
    decided = make_request(
        State="APPROVED",
        MediaPartnerName='<script>alert("x")</script> & Co',
        CampaignName="Ünïcødé <b>",
        DealName='"quoted" deal',
    )
    TrackingValueRequest.objects.filter(pk=soon.pk).update(assigned_to=alice)
    client.force_login(alice if who == "alice" else viewer)

    body = client.get(reverse("requests:list"), {"state": "all"}).content.decode()

    assert f'<tr class="row overdue" data-row data-id="{overdue.impact_id}">' in body
    assert f'<tr class="row due-soon" data-row data-id="{soon.impact_id}">' in body
    assert '<span class="due is-overdue">2 days overdue</span>' in body
    assert '<span class="due is-soon">' in body  # "due today" or "in 1 day", by the clock
    # The row's link carries the list it is in, to come back to and move on in.
    opens = f'<a href="{in_account(f"/r/{decided.impact_id}/")}?list=state%3Dall" data-open>'
    opens += f"{decided.impact_id}</a>"
    assert opens in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in body
    assert "<script>alert" not in body and "Ünïcødé &lt;b&gt;" in body
    assert 'title="&quot;quoted&quot; deal"' in body
    assert '<td class="clip c-deal" title="">—</td>' in body
    assert '<span class="state state-approved">Approved</span>' in body
    assert '<td class="c-holder">alice</td>' in body
    boxes = body.count('<input type="checkbox" name="ids"')
    assert boxes == (3 if who == "alice" else 0)  # open requests, for those who can decide


def test_the_filter_bar_renders_each_field_with_its_own_widget(rf, alice):
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    from requests_app.forms import FilterForm

    form = FilterForm(
        {"campaign": "7", "q": "trail"},
        choices={
            "campaign": [(7, mark_safe("Caf&eacute;")), (8, "Bed & <b>breakfast</b>")],
            "partner": [("Outdoor", [(1, "Trail"), (2, "Summit")]), ("Food", [(3, "Café")])],
        },
    )
    form.fields["request_type"].required = True
    form.fields["deal"].disabled = True
    form.fields["sort"].widget.attrs["data-sort"] = "yes"
    request = rf.get("/")
    request.user = alice

    html = render_to_string("requests_app/list.html#filters", {"form": form}, request=request)

    for name in FilterForm.BAR:
        assert str(form[name]) in html  # exactly as Django renders the field
    assert ">Caf&eacute;</option>" in html and "&amp;eacute;" not in html
    assert ">Bed &amp; &lt;b&gt;breakfast&lt;/b&gt;</option>" in html
    assert '<option value="7" selected>' in html
    assert '<optgroup label="Outdoor">' in html and '<optgroup label="Food">' in html
    assert '<select name="request_type" required aria-invalid="true"' in html
    assert '<select name="deal" disabled id="id_deal">' in html and 'data-sort="yes"' in html
    assert '<input type="search" name="q" value="trail"' in html and 'maxlength="200"' in html
    assert '<label for="id_campaign">Campaign</label>' in html


def test_the_cached_filter_bar_follows_the_chosen_values_and_a_sync(as_alice, make_request):
    first = make_request(CampaignId="1000", CampaignName="Acme Outdoor US")
    make_request(CampaignId="2000", CampaignName="Acme Kitchen")
    url = reverse("requests:list")

    plain = as_alice.get(url).content.decode()
    one = as_alice.get(url, {"campaign": "1000"}).content.decode()
    other = as_alice.get(url, {"campaign": "2000", "q": "acme"}).content.decode()

    assert "selected>Acme" not in plain
    assert '<option value="1000" selected>Acme Outdoor US</option>' in one
    assert '<option value="2000" selected>Acme Kitchen</option>' in other
    assert 'value="acme"' in other and 'value="acme"' not in one
    make_request(CampaignId="3000", CampaignName="Acme Garden")  # a sync wrote a row
    assert ">Acme Garden</option>" in as_alice.get(url, {"campaign": "1000"}).content.decode()
    assert first.campaign_id == 1000


def test_a_list_page_seen_again_shows_what_changed_since(
    client, alice, bob, viewer, make_request, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from requests_app import queues

    now = timezone.now()
    tvr = make_request(DateNeeded=(now + timedelta(days=4)).isoformat())
    row = f'<tr class="row" data-row data-id="{tvr.impact_id}">'
    client.force_login(alice)
    assert row in client.get(reverse("requests:list")).content.decode()

    queues.claim(request=tvr, user=bob)  # a change to the row
    assert ">bob</td>" in client.get(reverse("requests:list")).content.decode()

    client.force_login(viewer)  # the same rows, for someone who cannot decide
    assert 'name="ids"' not in client.get(reverse("requests:list")).content.decode()

    later = now + timedelta(days=3)  # nothing changed but the clock: now due soon
    monkeypatch.setattr(timezone, "now", lambda: later)
    body = client.get(reverse("requests:list")).content.decode()
    assert f'<tr class="row due-soon" data-row data-id="{tvr.impact_id}">' in body


def test_a_cached_list_row_is_drawn_again_when_its_request_or_decision_changes(
    as_alice, alice, make_request
):
    tvr = make_request(MediaPartnerName="Trail Deals Weekly")
    url = reverse("requests:list")
    assert ">Trail Deals Weekly</td>" in as_alice.get(url, **HTMX).content.decode()

    make_request(Id=tvr.impact_id, MediaPartnerName="Summit Coupons")  # a sync rewrote it
    body = as_alice.get(url, **HTMX).content.decode()
    assert ">Summit Coupons</td>" in body and "Trail Deals Weekly" not in body

    Decision.objects.create(request=tvr, action="reject", status="queued", decided_by=alice)
    body = as_alice.get(url, **HTMX).content.decode()
    assert '<span class="state state-pending">Rejection queued</span>' in body
    assert f'value="{tvr.impact_id}" form="bulk"' not in body  # no longer to be ticked


def test_a_cached_list_row_follows_the_viewers_zone_the_day_and_the_list_it_is_in(
    as_alice, make_request, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    from django.utils import timezone

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    tvr = make_request(
        DatePlaced="2026-11-23T20:00:00+00:00", DateNeeded="2026-11-30T12:00:00+00:00"
    )
    url = reverse("requests:list")
    body = as_alice.get(url).content.decode()
    assert '<time datetime="2026-11-23T20:00:00+00:00">Nov 23</time>' in body
    assert ">in 5 days</span>" in body

    as_alice.cookies["tz"] = "Asia%2FTokyo"  # already the 24th there
    body = as_alice.get(url).content.decode()
    assert '<time datetime="2026-11-24T05:00:00+09:00">Nov 24</time>' in body

    now += timedelta(days=1)  # the next day: one day fewer to go, nothing else changed
    assert ">in 4 days</span>" in as_alice.get(url).content.decode()

    body = as_alice.get(url, {"request_type": "PROMOCODE_TRACKING"}).content.decode()
    opens = in_account(f"/r/{tvr.impact_id}/?list=request_type%3DPROMOCODE_TRACKING")
    assert f'href="{opens}"' in body
