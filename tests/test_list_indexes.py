"""The reviewers' everyday filters read an index in the list's order, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from requests_app.forms import filtered
from requests_app.models import TrackingValueRequest

pytestmark = pytest.mark.django_db

CASES = {
    "tvr_state_type_campaign": {"request_type": "PROMOCODE_TRACKING", "campaign": 1000},
    "tvr_state_partner": {"partner": 2552842},
    "tvr_state_deal": {"deal": 3001},
}


@pytest.mark.parametrize("index", CASES)
def test_the_open_tab_with_a_filter_reads_its_index_not_the_decided_rows(
    index, make_request, alice
):
    for state in ("NEW", "APPROVED", "DECLINED"):
        make_request(State=state)
    rows = filtered(
        TrackingValueRequest.objects.for_account(make_request().account_sid).live(),
        {"state": "NEW", **CASES[index]},
        alice,
    ).order_by("date_needed", "id")[:51]

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a tiny table would be read whole otherwise
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = rows.explain()

    assert index in plan
    if connection.vendor == "postgresql":  # the state is part of the index condition
        assert "Index Cond" in plan and "state" in plan.split("Index Cond", 1)[1].split("\n")[0]
