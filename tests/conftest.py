"""Shared fixtures: personas (a viewer, two reviewers, an admin) and cached requests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.utils import timezone

from requests_app import impact, roles, sync
from requests_app.models import TrackingValueRequest
from tests.fakes import FakeImpact


def pytest_configure(config: pytest.Config) -> None:
    # Tests run background tasks at once, in the calling thread.
    django_settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }
    # Decisions are sent at once unless a test is about the Undo window.
    django_settings.TVR_DECISION_DELAY_SECONDS = 0
    # Tests render pages without running collectstatic first.
    django_settings.STORAGES = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache, as its database starts empty."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def sandbox_sid(settings) -> str:
    return settings.IMPACT_SANDBOX_ACCOUNT_SID


def _person(username: str, role: str) -> User:
    """A person with `role` on the deployment's own account (the sandbox's in tests)."""
    roles.ensure_roles()
    user = User.objects.create_user(username, f"{username}@example.com", "correct-horse-battery")
    roles.grant(user, impact.default_account_sid(), role)
    return user


@pytest.fixture
def as_alice(client, alice):
    """The test client, signed in as a reviewer."""
    client.force_login(alice)
    return client


@pytest.fixture
def fake(monkeypatch) -> FakeImpact:
    """A fake impact.com behind impact.get_client, holding what a test puts in `payloads`."""
    client = FakeImpact()
    monkeypatch.setattr(impact, "get_client", lambda account_sid=None: client)
    return client


@pytest.fixture
def viewer(db) -> User:
    return _person("vera", roles.VIEWER)


@pytest.fixture
def alice(db) -> User:
    return _person("alice", roles.REVIEWER)


@pytest.fixture
def bob(db) -> User:
    return _person("bob", roles.REVIEWER)


@pytest.fixture
def admin(db) -> User:
    return _person("ada", roles.ADMIN)


_ids = itertools.count(500_000)


def wire_request(**overrides: Any) -> dict[str, Any]:
    """An impact.com-shaped request payload (numbers as strings, as impact.com sends them)."""
    now = timezone.now()
    request_id = str(next(_ids))
    sid = django_settings.IMPACT_SANDBOX_ACCOUNT_SID
    payload: dict[str, Any] = {
        "Id": request_id,
        "CampaignId": "1000",
        "CampaignName": "Acme Outdoor US",
        "MediaPartnerId": "2552842",
        "MediaPartnerName": "Trail Deals Weekly",
        "RequestType": "PROMOCODE_TRACKING",
        "NumberRequested": "1",
        "PromoCodes": [
            {
                "Id": "9" + request_id,
                "RequestedPromoCode": "TRAIL20",
                "ApprovedPromoCode": "",
                "CreditPolicy": "",
                "MatchMode": "",
            }
        ],
        "UniqueUrls": [],
        "PhoneNumbers": [],
        "State": "NEW",
        "DatePlaced": (now - timedelta(days=2)).isoformat(),
        "DateNeeded": (now + timedelta(days=3)).isoformat(),
        "DateCompleted": None,
        "AdditionalInstructions": "Please activate before the weekend.",
        "ProcessingComments": None,
        "DealId": "",
        "DealName": "",
        "DealType": "",
        "Uri": f"/Advertisers/{sid}/TrackingValueRequests/{request_id}",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def make_request(db, sandbox_sid) -> Callable[..., TrackingValueRequest]:
    """Store a cached request through sync.store, the cache's one writer."""

    def make(account_sid: str | None = None, **overrides: Any) -> TrackingValueRequest:
        item = impact.TrackingValueRequest.parse(wire_request(**overrides))
        sid = account_sid or sandbox_sid
        sync.store(sid, [item], fetched_at=timezone.now())
        return TrackingValueRequest.objects.get(account_sid=sid, impact_id=item.id)

    return make


@pytest.fixture
def live_request(db, sandbox_sid) -> Callable[..., TrackingValueRequest]:
    """A request the in-process sandbox holds and the cache has synced: approvals really go out."""
    from requests_app.sandbox.seed import row_for

    def make(**overrides: Any) -> TrackingValueRequest:
        payload = wire_request(**overrides)
        row_for(sandbox_sid, payload).save()
        item = impact.TrackingValueRequest.parse(payload)
        sync.store(sandbox_sid, [item], fetched_at=timezone.now())
        return TrackingValueRequest.objects.get(account_sid=sandbox_sid, impact_id=item.id)

    return make


def in_account(url: str, sid: str | None = None) -> str:
    """An address as the pages write it: inside its account, `/a/<SID>/…` (the deployment's
    own account unless `sid` says another)."""
    return f"/a/{sid or impact.default_account_sid()}{url}"
