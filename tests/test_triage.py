"""Triage: the list a reviewer came from travels with them, and after a decision the same
list's next open request opens by itself (unless they turned that off), with a notice of the
one just decided that keeps its Undo. Plus what a decision's answer refreshes on the page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from requests_app import triage
from requests_app.models import Decision, Preference, TrackingValueRequest
from requests_app.sandbox.models import SandboxRequest
from tests.conftest import in_account

pytestmark = pytest.mark.django_db

HERE = in_account("")  # the account's part of every address the pages write

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_auto_advance_is_on_until_a_person_turns_it_off(alice, bob):
    assert Preference.auto_advance_for(alice) is True
    Preference.objects.create(user=alice, auto_advance=False)
    assert Preference.auto_advance_for(alice) is False
    assert Preference.auto_advance_for(bob) is True


def test_the_list_parameter_keeps_only_the_lists_filters_queue_and_sort():
    kept = triage.list_filters("queue=mine&sort=-placed&after=abc&check=1&q=&evil=x")
    assert kept.dict() == {"queue": "mine", "sort": "-placed"}
    assert triage.list_label(kept) == "My queue"
    assert triage.list_label(QueryDict("state=APPROVED")) == "Requests"


def test_a_request_link_carries_the_list_it_came_from_and_only_what_it_is_given():
    from requests_app.views.detail import detail_url

    url = detail_url("7", "queue=mine&sort=-placed", done="6")

    assert url == "/r/7/?list=queue%3Dmine%26sort%3D-placed&done=6"
    assert query_of(url) == {"list": ["queue=mine&sort=-placed"], "done": ["6"]}
    assert detail_url("7", "") == "/r/7/"  # no list: no dangling "?"


def in_order(live_request, n: int, **overrides) -> list[TrackingValueRequest]:
    """n open promo code requests, needed one day apart (the list's default order)."""
    now = timezone.now()
    return [
        live_request(DateNeeded=(now + timedelta(days=day + 1)).isoformat(), **overrides)
        for day in range(n)
    ]


def approve(client, tvr, list_query: str = "", *, follow=False, htmx=False, **fields):
    data = {"promo_code": "TRAIL20", "credit_policy": "INVOLVED", "match_mode": "LI", **fields}
    if list_query:
        data["list"] = list_query
    headers = HTMX if htmx else {}
    return client.post(
        reverse("requests:approve", args=[tvr.impact_id]), data, follow=follow, **headers
    )


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_after_a_decision_the_next_open_request_of_the_same_list_opens(as_alice, live_request):
    first, second, third = in_order(live_request, 3)
    response = approve(as_alice, first, "sort=needed")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == HERE + reverse(
        "requests:detail", args=[second.impact_id]
    )
    assert query_of(response["Location"]) == {"list": ["sort=needed"], "done": [first.impact_id]}

    # The same list sorted the other way goes the other way (and wraps round at its end).
    response = approve(as_alice, second, "sort=-needed")
    assert urlsplit(response["Location"]).path == HERE + reverse(
        "requests:detail", args=[third.impact_id]
    )


def test_a_request_with_a_queued_decision_counts_as_decided(as_alice, bob, live_request):
    first, second, third = in_order(live_request, 3)
    Decision.objects.create(request=second, action="reject", status="queued", decided_by=bob)
    Decision.objects.create(request=third, action="reject", status="unconfirmed", decided_by=bob)
    response = approve(as_alice, first, "sort=needed")
    # Nothing is left: the reviewer stays, told so.
    assert (
        response["Location"]
        == HERE + reverse("requests:detail", args=[first.impact_id]) + "?list=sort%3Dneeded"
    )
    page = as_alice.get(response["Location"]).content.decode()
    assert "No open requests are left in requests." in page


def test_the_next_request_follows_the_lists_filters_and_queue(as_alice, alice, live_request):
    first, other_type, mine = in_order(live_request, 3)
    TrackingValueRequest.objects.filter(pk=other_type.pk).update(
        request_type="BRANDED_URL_TRACKING"
    )
    TrackingValueRequest.objects.filter(pk__in=[first.pk, mine.pk]).update(assigned_to=alice)
    response = approve(as_alice, first, "queue=mine&request_type=PROMOCODE_TRACKING")
    assert urlsplit(response["Location"]).path == HERE + reverse(
        "requests:detail", args=[mine.impact_id]
    )


def test_over_htmx_the_next_request_opens_with_a_client_redirect(as_alice, live_request):
    first, second = in_order(live_request, 2)
    response = approve(as_alice, first, "sort=needed", htmx=True)
    assert response.status_code == 200
    assert urlsplit(response["HX-Redirect"]).path == HERE + reverse(
        "requests:detail", args=[second.impact_id]
    )


def test_a_reviewer_who_turned_it_off_stays_on_the_request(as_alice, alice, live_request):
    first, _ = in_order(live_request, 2)
    as_alice.post(reverse("requests:preferences"), {"next": "/"})  # the box unticked
    assert Preference.auto_advance_for(alice) is False
    response = approve(as_alice, first, "sort=needed")
    assert urlsplit(response["Location"]).path == HERE + reverse(
        "requests:detail", args=[first.impact_id]
    )
    as_alice.post(reverse("requests:preferences"), {"auto_advance": "on", "next": "/"})
    assert Preference.auto_advance_for(alice) is True


def test_the_setting_is_offered_after_the_page_loads(as_alice, alice, live_request):
    (tvr,) = in_order(live_request, 1)
    page = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert f'hx-get="{HERE}{reverse("requests:preferences")}"' in page
    toggle = as_alice.get(reverse("requests:preferences"), **HTMX).content.decode()
    assert "<html" not in toggle and 'name="auto_advance"' in toggle and " checked" in toggle
    Preference.objects.create(user=alice, auto_advance=False)
    toggle = as_alice.get(reverse("requests:preferences"), **HTMX).content.decode()
    assert " checked" not in toggle


def test_a_refused_decision_keeps_the_reviewer_on_the_request_with_the_error(
    as_alice, live_request
):
    holder, first, _ = in_order(live_request, 3)
    TrackingValueRequest.objects.filter(pk=holder.pk).update(media_partner_id=999)
    SandboxRequest.objects.filter(impact_id=int(holder.impact_id)).update(media_partner_id=999)
    approve(as_alice, holder)
    # Past our own warning, impact.com refuses the code another partner holds.
    response = approve(as_alice, first, "sort=needed", follow=True, confirm_taken="on")
    url = reverse("requests:detail", args=[first.impact_id])
    assert response.redirect_chain[-1][0] == HERE + url + "?list=sort%3Dneeded"
    assert "already assigned to another partner" in response.content.decode()
    assert Decision.objects.get(request=first).status == "failed"


def test_the_next_page_notices_the_decision_and_keeps_its_undo(as_alice, live_request, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    first, second = in_order(live_request, 2)
    page = as_alice.get(approve(as_alice, first, "sort=needed")["Location"])
    body = page.content.decode()
    decision = Decision.objects.get(request=first)
    assert decision.status == "queued"
    assert f"Approval of request {first.impact_id} queued" in body
    undo = reverse("requests:undo", args=[first.impact_id, decision.pk])
    assert f'action="{HERE}{undo}"' in body and "every 2s" in body  # polled until it is sent

    # Undo from the notice takes it back and returns to the request, in the same list.
    response = as_alice.post(undo, {"list": "sort=needed"})
    assert (
        response["Location"]
        == HERE + reverse("requests:detail", args=[first.impact_id]) + "?list=sort%3Dneeded"
    )
    decision.refresh_from_db()
    assert decision.status == "undone"
    notice = as_alice.get(
        reverse("requests:detail", args=[second.impact_id]),
        {"done": first.impact_id, "part": "notice"},
        **HTMX,
    ).content.decode()
    assert "Undone: nothing was sent" in notice and "<html" not in notice


def test_a_notice_names_only_the_viewers_own_decision(as_alice, bob, live_request):
    first, second = in_order(live_request, 2)
    Decision.objects.create(request=first, action="approve", status="queued", decided_by=bob)
    body = as_alice.get(
        reverse("requests:detail", args=[second.impact_id]), {"done": first.impact_id}
    ).content.decode()
    assert 'id="notice"' not in body


def test_the_back_link_returns_to_the_list_and_queue_it_came_from(as_alice, live_request):
    (tvr,) = in_order(live_request, 1)
    body = as_alice.get(
        reverse("requests:detail", args=[tvr.impact_id]), {"list": "queue=mine&sort=-placed"}
    ).content.decode()
    assert f'<a href="{HERE}/?queue=mine&amp;sort=-placed" data-back>← My queue</a>' in body
    assert 'name="list" value="queue=mine&amp;sort=-placed"' in body  # the forms carry it


def test_a_decisions_answer_refreshes_the_badge_timeline_and_queue_counts(
    as_alice, alice, live_request, settings
):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    (tvr,) = in_order(live_request, 1)
    body = approve(as_alice, tvr, htmx=True).content.decode()
    assert '<section id="decision"' in body
    assert '<span id="state-badge" hx-swap-oob="true"' in body and "Approval queued" in body
    assert '<ol id="timeline-events" class="timeline" hx-swap-oob="true">' in body
    assert "queued an approval" in body
    assert '<nav id="queues" aria-label="Queues" class="queues" hx-swap-oob="true">' in body


def test_pages_are_never_served_from_a_cache(as_alice, live_request):
    (tvr,) = in_order(live_request, 1)
    for url in (reverse("requests:list"), reverse("requests:detail", args=[tvr.impact_id])):
        assert "no-store" in as_alice.get(url)["Cache-Control"]


# --- the list: what it says of itself and of decided rows ---------------------------------


def test_the_list_marks_a_request_whose_decision_is_on_its_way(as_alice, bob, live_request):
    first, _ = in_order(live_request, 2)
    Decision.objects.create(request=first, action="approve", status="queued", decided_by=bob)
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert '<span class="state state-pending">Approval queued</span>' in body
    assert f'<tr class="row is-decided" data-row data-id="{first.impact_id}">' in body
    assert body.count('<input type="checkbox" name="ids"') == 1  # only the other is tickable


def test_the_list_says_how_many_it_shows_what_the_tab_means_and_the_zone(as_alice, live_request):
    in_order(live_request, 3)
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert "<span data-announce>3 open requests</span>: waiting for a decision" in body
    assert "dates in UTC" in body
    assert 'id="tab-completed"' in body and "it is live for the partner" in body
    body = as_alice.get(reverse("requests:list"), {"state": "APPROVED"}).content.decode()
    assert "<span data-announce>0 approved requests</span>" in body


def test_an_empty_queue_says_it_is_empty_not_that_filters_match_nothing(as_alice, live_request):
    in_order(live_request, 1)
    body = as_alice.get(reverse("requests:list"), {"queue": "mine"}).content.decode()
    assert "Your queue is empty" in body and "matches your filters" not in body
    assert "<span data-announce>0 requests in My queue</span>" in body


def test_deals_with_the_same_name_are_told_apart_by_dates_and_id(as_alice, make_request):
    for deal_id, start in (("3001", "2026-10-01"), ("3002", "2027-03-01")):
        make_request(
            DealId=deal_id,
            DealName="Trail Days",
            DealStartDate=f"{start}T00:00:00+00:00",
            DealEndDate="",
        )
    make_request(DealId="3003", DealName="Solo Sale")
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert ">Trail Days · Oct 1, 2026 to open-ended · #3001</option>" in body
    assert ">Trail Days · Mar 1, 2027 to open-ended · #3002</option>" in body
    assert ">Solo Sale</option>" in body
