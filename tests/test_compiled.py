"""Lookups compiled once per database: the same rows as the ORM for every key."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from requests_app import compiled
from requests_app.models import Account


def _by_sid(sid: str):
    return Account.objects.filter(sid=sid)


def _by_sid_or_version(sid: str):
    return Account.objects.filter(Q(sid=sid) | Q(data_version=0))


def test_a_compiled_lookup_finds_each_key_and_none_for_a_missing_one(db):
    first = Account.objects.create(sid="IRfirst", data_version=3)
    second = Account.objects.create(sid="IRsecond", data_version=7)
    for account in (first, second, first):
        found = compiled.first(_by_sid, account.sid, using="default")
        assert (found.pk, found.sid, found.data_version) == (
            account.pk,
            account.sid,
            account.data_version,
        )
    assert compiled.first(_by_sid, "IRmissing", using="default") is None
    with CaptureQueriesContext(connection) as queries:
        compiled.first(_by_sid, "IRsecond", using="default")
    assert len(queries) == 1


def test_a_lookup_of_another_shape_runs_through_the_orm(db):
    # The key is not the last parameter here, so nothing is compiled or guessed.
    Account.objects.create(sid="IRone", data_version=5)
    zero = Account.objects.create(sid="IRzero", data_version=0)
    assert compiled.first(_by_sid_or_version, "IRone", using="default") is not None
    assert (_by_sid_or_version, "default") not in compiled._COMPILED
    assert compiled.first(_by_sid_or_version, "IRnone", using="default").pk == zero.pk


def test_sessions_load_live_ones_and_forget_expired_or_unknown_keys(db):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from requests_app.sessions import SessionStore

    live, stale = SessionStore(), SessionStore()
    for store, who in ((live, "alice"), (stale, "bob")):
        store["who"] = who
        store.create()
    Session.objects.filter(session_key=stale.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert SessionStore(live.session_key).load() == {"who": "alice"}
    expired = SessionStore(stale.session_key)
    assert expired.load() == {} and expired.session_key is None
    unknown = SessionStore("x" * 32)
    assert unknown.load() == {} and unknown.session_key is None
    assert SessionStore(live.session_key)["who"] == "alice"  # the compiled SQL, another key


def test_annotations_and_fields_come_converted_like_the_orm(db):
    from requests_app.models import SyncRun
    from requests_app.views.lists import _account_and_sync

    Account.objects.create(sid="IRquiet")
    Account.objects.create(sid="IRbusy")
    SyncRun.objects.create(account_sid="IRbusy", kind=SyncRun.Kind.FULL)
    for sid, syncing in (("IRquiet", False), ("IRbusy", True), ("IRquiet", False)):
        found = compiled.first(_account_and_sync, sid, using="default")
        orm = _account_and_sync(sid).get()
        assert found.syncing is syncing and orm.syncing is syncing
        assert [getattr(found, f.attname) for f in Account._meta.fields] == [
            getattr(orm, f.attname) for f in Account._meta.fields
        ]
