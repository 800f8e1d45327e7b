"""Free-text search: what it matches, and that it goes through a real index on both databases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from requests_app import impact, search, sync
from requests_app.models import TrackingValueRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests(make_request):
    return {
        "trail": make_request(
            MediaPartnerName="Trail Deals Weekly", CampaignName="Acme Outdoor US"
        ),
        "coupon": make_request(
            MediaPartnerName="Coupon Cabin",
            CampaignName="Acme Home EU",
            DealId="77",
            DealName="Black Friday 20%",
            DealType="GENERAL_SALE",
        ),
        "unicode": make_request(
            MediaPartnerName="Ünïcødé Straße Angebote",
            CampaignName="Acme Home DE",
            AdditionalInstructions="Bitte bis Freitag aktivieren",
        ),
    }


def found(text: str) -> set[str]:
    matched = search.matching(TrackingValueRequest.objects.all(), text)
    return set(matched.values_list("media_partner_name", flat=True))


def test_search_matches_partner_campaign_deal_and_instructions_case_insensitively(requests):
    assert found("deals week") == {"Trail Deals Weekly"}
    assert found("OUTDOOR") == {"Trail Deals Weekly"}
    assert found("black friday") == {"Coupon Cabin"}
    assert found("freitag") == {"Ünïcødé Straße Angebote"}


def test_search_matches_a_request_by_its_id(requests):
    assert found(requests["coupon"].impact_id) == {"Coupon Cabin"}


def test_every_term_must_match(requests):
    assert found("cabin friday") == {"Coupon Cabin"}
    assert found("cabin outdoor") == set()


def test_unicode_and_short_terms_work(requests):
    assert found("straße") == {"Ünïcødé Straße Angebote"}
    assert found("üNÏ") == {"Ünïcødé Straße Angebote"}
    assert found("us") == {"Trail Deals Weekly"}


def test_like_wildcards_in_the_search_are_taken_literally(requests):
    assert found("20%") == {"Coupon Cabin"}
    assert found("20_") == set()
    assert found("%%%") == set()


def test_a_changed_request_is_found_by_its_new_text_only(requests, sandbox_sid):
    row = requests["trail"]
    item = impact.TrackingValueRequest.parse(dict(row.payload, MediaPartnerName="Mountain Savers"))
    sync.store(sandbox_sid, [item], fetched_at=timezone.now())

    assert found("mountain") == {"Mountain Savers"}
    assert found("weekly") == set()


def test_search_goes_through_the_index(requests):
    queryset = search.matching(TrackingValueRequest.objects.all(), "deals weekly")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(prefix + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())

    # On SQLite, FTS5 must take the LIKE as its constraint ("L"), not scan every row ("0:").
    expected = "VIRTUAL TABLE INDEX 0:L" if connection.vendor == "sqlite" else "tvr_search_trgm"
    assert expected in plan


def test_an_older_sqlite_search_table_is_replaced_and_refilled(requests):
    if connection.vendor != "sqlite":
        pytest.skip("the FTS5 table is SQLite's")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {search.FTS}")
        cursor.execute(
            f"CREATE VIRTUAL TABLE {search.FTS} USING fts5(search_text, "
            f"content='{search.TABLE}', content_rowid='id', tokenize='trigram')"
        )
    search.ensure_index()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [search.FTS])
        assert "content=" not in cursor.fetchone()[0]
    assert found("deals week") == {"Trail Deals Weekly"}
    assert found("black friday") == {"Coupon Cabin"}
