"""The reviewers' everyday filters read an index in the list's order, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from requests_app import impact, sync
from requests_app.forms import filtered
from requests_app.models import TrackingValueRequest
from tests.conftest import wire_request

pytestmark = pytest.mark.django_db

CASES = {
    "tvr_state_type_campaign": {"request_type": "PROMOCODE_TRACKING", "campaign": 1000},
    "tvr_state_partner": {"partner": 2552842},
    "tvr_state_deal": {"deal": 3001},
}
# The All tab: no state to put in front, so the filter's own column leads.
ALL_CASES = {
    "tvr_type_campaign_needed": {"request_type": "PROMOCODE_TRACKING", "campaign": 1000},
    "tvr_partner_needed": {"partner": 2552842},
    "tvr_deal_needed": {"deal": 3001},
}


@pytest.fixture
def many_decided(sandbox_sid):
    """Mostly decided requests, as an account's history is, and a few open ones per filter."""
    payloads = [
        wire_request(State="APPROVED" if n % 10 else "NEW", DealId=str(3001 + n % 7))
        | {"CampaignId": str(1000 + n % 5), "MediaPartnerId": str(2552842 + n % 9)}
        for n in range(600)
    ]
    sync.store(
        sandbox_sid,
        [impact.TrackingValueRequest.parse(p) for p in payloads],
        fetched_at=timezone.now(),
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the planner chooses by the table's statistics
            cursor.execute(f"ANALYZE {TrackingValueRequest._meta.db_table}")
    return sandbox_sid


@pytest.mark.parametrize("index", CASES)
def test_the_open_tab_with_a_filter_reads_its_index_not_the_decided_rows(
    index, many_decided, alice
):
    rows = filtered(
        TrackingValueRequest.objects.for_account(many_decided).live(),
        {"state": "NEW", **CASES[index]},
        alice,
    ).order_by("date_needed", "id")[:51]

    plan = rows.explain()

    assert index in plan
    if connection.vendor == "postgresql":  # the state is part of the index condition
        assert "Index Cond" in plan and "state" in plan.split("Index Cond", 1)[1].split("\n")[0]


@pytest.mark.parametrize("index", ALL_CASES)
def test_the_all_tab_with_a_filter_reads_its_index_not_every_request(index, many_decided, alice):
    rows = filtered(
        TrackingValueRequest.objects.for_account(many_decided).live(),
        {"state": "all", **ALL_CASES[index]},
        alice,
    ).order_by("date_needed", "id")[:51]

    plan = rows.explain()

    assert index in plan
    if connection.vendor == "postgresql":  # read in the list's order: no sort of the matches
        assert "Sort" not in plan.split(index, 1)[0]
