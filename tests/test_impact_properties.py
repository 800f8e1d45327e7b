"""Whatever impact.com sends, parsing and caching it never crashes and never corrupts the cache."""

from __future__ import annotations

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from requests_app import impact, sync
from requests_app.models import TrackingValueRequest
from tests.conftest import wire_request

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = sorted(impact.TrackingValueRequest.FIELDS | impact.Deal.FIELDS)


@st.composite
def surprising_payloads(draw) -> dict:
    """A realistic payload with some documented fields replaced by any JSON at all."""
    payload = wire_request()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=10, unique=True)):
        if name != "Id":
            payload[name] = draw(json_values)
    payload.update(draw(st.dictionaries(st.text(max_size=20), json_values, max_size=3)))
    payload["Id"] = draw(st.one_of(st.integers(1, 10**12).map(str), st.integers(1, 10**12)))
    return payload


@given(payload=st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_parsing_any_object_gives_a_request_or_a_clear_error(payload):
    try:
        parsed = impact.TrackingValueRequest.parse(payload)
    except impact.Unavailable as error:
        assert "Id" in error.message
    else:
        assert parsed.id


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=surprising_payloads())
@example(
    payload=wire_request(
        CampaignId=str(2**70),
        MediaPartnerId=-(2**65),
        NumberRequested=2**40,
        DealId="9" * 30,
        MediaPartnerName="Nul\x00Partner",
        AdditionalInstructions={"nested": [float("nan"), "\x00"]},
    )
)
def test_storing_a_surprising_request_keeps_the_cache_consistent(payload, sandbox_sid):
    item = impact.TrackingValueRequest.parse(payload)

    sync.store(sandbox_sid, [item], fetched_at=timezone.now())
    again = sync.store(sandbox_sid, [item], fetched_at=timezone.now())

    row = TrackingValueRequest.objects.get(account_sid=sandbox_sid, impact_id=item.id)
    assert again.unchanged == 1
    assert row.payload_hash == impact.fingerprint(item.raw)
    assert len(row.request_type) <= 32 and len(row.state) <= 16
