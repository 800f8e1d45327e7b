"""Several impact.com accounts in one dashboard: two impact.com-compatible servers with their
own SIDs and tokens, people granted different roles on each, and nothing of one account
reachable from the other (by id, search, bulk action, saved view, audit filter or CSV)."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from requests_app import accounts, credentials, impact, roles, sync
from requests_app.models import (
    Account,
    AuditEvent,
    Decision,
    Grant,
    Preference,
    RejectionReason,
    SavedView,
    TrackingValueRequest,
)
from tests.conftest import wire_request
from tests.impact_server import ImpactServer

pytestmark = pytest.mark.django_db

NORTH, NORTH_TOKEN = "IRNorth000000000000000000000001", "north/Token+1=="
SOUTH, SOUTH_TOKEN = "IRSouth000000000000000000000002", "south/Token+2=="


def company(name: str) -> dict:
    return {"CompanyInformation": [{"CompanyName": name, "Currency": "USD"}]}


@pytest.fixture
def servers(settings, monkeypatch):
    settings.IMPACT_READ_RETRIES = 0
    settings.IMPACT_READ_TIMEOUT = 2.0
    north = ImpactServer(NORTH, NORTH_TOKEN).start()
    south = ImpactServer(SOUTH, SOUTH_TOKEN).start()
    north.account = company("North Outdoor Co.")
    south.account = company("South Surf Ltd.")
    monkeypatch.setenv("NORTH_TOKEN", NORTH_TOKEN)
    monkeypatch.setenv("SOUTH_TOKEN", SOUTH_TOKEN)
    yield north, south
    north.stop()
    south.stop()


def serve(server: ImpactServer, **overrides) -> dict:
    payload = wire_request(**overrides)
    payload["Uri"] = f"/Advertisers/{server.account_sid}/TrackingValueRequests/{payload['Id']}"
    server.add(payload)
    return payload


@pytest.fixture
def two_accounts(servers):
    """Both accounts added with add_account and synced; each server holds two requests."""
    north, south = servers
    serve(north, MediaPartnerName="Northern Trails", RequestType="BRANDED_URL_TRACKING")
    serve(north, MediaPartnerName="Fjord Deals")
    serve(south, MediaPartnerName="Southern Waves", RequestType="BRANDED_URL_TRACKING")
    serve(south, MediaPartnerName="Reef Savings")
    call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    call_command("add_account", SOUTH, "--token-env", "SOUTH_TOKEN", "--base-url", south.url)
    call_command("sync_requests", "--account", NORTH, "--quiet")
    call_command("sync_requests", "--account", SOUTH, "--quiet")
    return north, south


def person(name: str, **grants: str) -> User:
    user = User.objects.create_user(name, password="correct-horse-battery")
    for sid, role in grants.items():
        roles.grant(user, sid, role)
    return user


def at(sid: str, path: str) -> str:
    """An address inside account `sid` (what the pages' own links look like)."""
    return f"/a/{sid}{path}"


def ids(sid: str) -> list[str]:
    rows = TrackingValueRequest.objects.filter(account_sid=sid).order_by("impact_id")
    return list(rows.values_list("impact_id", flat=True))


# --- accounts are data, their tokens encrypted -----------------------------------------------


def test_add_account_checks_with_impact_com_names_it_and_stores_the_token_encrypted(servers):
    north, _ = servers
    out = io.StringIO()
    call_command(
        "add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url, stdout=out
    )
    account = Account.objects.get(sid=NORTH)
    assert account.name == "North Outdoor Co."  # from CompanyInformation
    assert account.base_url == north.url
    assert NORTH_TOKEN not in account.token_encrypted
    assert account.auth_token() == NORTH_TOKEN
    assert NORTH_TOKEN not in out.getvalue()
    assert ("GET", f"/Advertisers/{NORTH}/CompanyInformation", 200) in north.journal
    event = AuditEvent.objects.get(action=accounts.ACCOUNT_SAVED)
    assert event.account_sid == NORTH and event.detail["added"] is True
    assert NORTH_TOKEN not in repr(event.detail) + event.response_message


def test_add_account_updates_the_name_and_keeps_the_stored_token_when_none_is_given(servers):
    north, _ = servers
    call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    call_command("add_account", NORTH, "--name", "North (EU)", "--base-url", north.url)
    account = Account.objects.get(sid=NORTH)
    assert (account.name, account.auth_token()) == ("North (EU)", NORTH_TOKEN)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token-env", "SOUTH_TOKEN"], "did not accept"),  # South's token on North's server
        (["--token-env", "UNSET_VARIABLE"], "is not set"),
        ([], "none is stored"),
    ],
)
def test_add_account_saves_nothing_when_the_credentials_are_refused(servers, args, message):
    north, _ = servers
    with pytest.raises(CommandError, match=message) as refused:
        call_command("add_account", NORTH, *args, "--base-url", north.url)
    assert not Account.objects.filter(sid=NORTH).exists()
    assert SOUTH_TOKEN not in str(refused.value)


@pytest.mark.parametrize("sid", ["IR/../x", "IR North", "IR\u0000x", "x" * 65, ""])
def test_add_account_refuses_a_sid_that_cannot_be_an_address(servers, sid):
    with pytest.raises(CommandError, match="AccountSID"):
        call_command("add_account", sid, "--token-env", "NORTH_TOKEN")
    assert not Account.objects.exclude(sid=impact.default_account_sid()).exists()


def test_tokens_rotate_to_a_new_key_and_old_keys_can_then_go(servers, settings, monkeypatch):
    north, _ = servers
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(credentials.KEYS_VARIABLE, first)
    call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    monkeypatch.setenv(credentials.KEYS_VARIABLE, f"{second},{first}")
    out = io.StringIO()
    call_command("rotate_account_tokens", stdout=out)
    assert "Rotated 1" in out.getvalue()
    monkeypatch.setenv(credentials.KEYS_VARIABLE, second)  # the old key dropped
    assert Account.objects.get(sid=NORTH).auth_token() == NORTH_TOKEN
    monkeypatch.setenv(credentials.KEYS_VARIABLE, Fernet.generate_key().decode())
    with pytest.raises(credentials.TokenUnreadable) as unreadable:
        Account.objects.get(sid=NORTH).auth_token()
    assert NORTH_TOKEN not in str(unreadable.value)
    with pytest.raises(impact.NotConfigured, match="cannot be read"):
        impact.get_client(NORTH)


def test_tokens_saved_on_the_development_key_move_to_a_configured_one(servers, monkeypatch):
    north, _ = servers
    call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    monkeypatch.setenv(credentials.KEYS_VARIABLE, Fernet.generate_key().decode())
    call_command("rotate_account_tokens", stdout=io.StringIO())
    stored = Account.objects.get(sid=NORTH).token_encrypted
    monkeypatch.setattr(credentials, "derived_key", Fernet.generate_key)  # SECRET_KEY changed
    assert credentials.decrypt(stored) == NORTH_TOKEN


def test_a_bad_key_variable_is_a_clear_error_that_does_not_echo_it(monkeypatch):
    monkeypatch.setenv(credentials.KEYS_VARIABLE, "not-a-key-but-a-secret")
    with pytest.raises(credentials.TokenUnreadable) as bad:
        credentials.encrypt("x")
    assert "not-a-key-but-a-secret" not in str(bad.value)


def test_check_deploy_warns_while_the_derived_key_is_in_use(monkeypatch):
    from requests_app.checks import encryption_key_configured

    monkeypatch.delenv(credentials.KEYS_VARIABLE, raising=False)
    assert [w.id for w in encryption_key_configured()] == ["tvr.W001"]
    monkeypatch.setenv(credentials.KEYS_VARIABLE, Fernet.generate_key().decode())
    assert encryption_key_configured() == []


# --- each account talks to its own server ----------------------------------------------------


def test_each_accounts_calls_reach_only_its_own_server(two_accounts, client):
    north, south = two_accounts
    assert {r[1].split("/")[2] for r in north.journal} == {NORTH}
    assert {r[1].split("/")[2] for r in south.journal} == {SOUTH}
    assert len(ids(NORTH)) == len(ids(SOUTH)) == 2

    ada = person("ada", **{NORTH: roles.ADMIN, SOUTH: roles.ADMIN})
    client.force_login(ada)
    south_id = ids(SOUTH)[0]
    before = len(north.journal)
    response = client.post(at(SOUTH, f"/r/{south_id}/reject/"), {"note": "wrong brand"})
    assert response.status_code == 302
    assert south.state(south_id) == "DECLINED"
    assert len(north.journal) == before  # nothing went to North's server
    assert Decision.objects.get().request.account_sid == SOUTH


def test_sync_all_goes_on_when_one_account_fails(two_accounts, settings):
    north, south = two_accounts
    serve(south, MediaPartnerName="New in the south")
    north.stop()  # North's impact.com is down
    err = io.StringIO()
    with pytest.raises(CommandError, match=f"The sync of {NORTH} failed"):
        call_command("sync_requests", "--all", "--quiet", stderr=err)
    assert len(ids(SOUTH)) == 3  # South synced all the same
    assert NORTH_TOKEN not in err.getvalue()
    north.stop = lambda: None  # already stopped: the fixture's stop has nothing to do


def test_syncable_accounts_are_the_deployments_own_then_each_added_one(two_accounts):
    assert accounts.syncable_sids() == [impact.default_account_sid(), NORTH, SOUTH]


# --- who sees what ---------------------------------------------------------------------------


def test_a_person_sees_only_the_accounts_granted_to_them(two_accounts, client):
    vera = person("vera", **{NORTH: roles.VIEWER})
    client.force_login(vera)
    north_page = client.get(at(NORTH, "/")).content.decode()
    assert "Northern Trails" in north_page and "Southern Waves" not in north_page
    assert client.get(at(SOUTH, "/")).status_code == 404
    # An address without an account opens the one she holds (the sandbox's is not hers).
    page = client.get("/").content.decode()
    assert "Northern Trails" in page
    assert f'href="/a/{NORTH}/' in page  # every link names the account


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/r/{id}/"),
        ("post", "/r/{id}/approve/"),
        ("post", "/r/{id}/reject/"),
        ("post", "/r/{id}/claim/"),
        ("post", "/r/{id}/comment/"),
        ("get", "/audit/"),
        ("get", "/audit/export.csv"),
        ("get", "/team/"),
        ("get", "/views/"),
    ],
)
def test_another_accounts_objects_answer_404_by_any_address(two_accounts, client, method, path):
    alice = person("alice", **{NORTH: roles.ADMIN})
    client.force_login(alice)
    south_id = ids(SOUTH)[0]
    url = path.format(id=south_id)
    ask = getattr(client, method)
    assert ask(at(SOUTH, url), {"body": "x", "url_id": "1"}).status_code == 404
    if "{id}" in path:
        # Asked for in her own account, South's request is simply not there.
        assert ask(at(NORTH, url), {"body": "x", "url_id": "1"}).status_code == 404
    assert not TrackingValueRequest.objects.filter(account_sid=SOUTH).exclude(assigned_to=None)
    assert not Decision.objects.exists()


def test_search_bulk_reject_saved_views_audit_and_csv_stay_inside_the_account(two_accounts, client):
    south_ids = ids(SOUTH)
    bob = person("bob", **{SOUTH: roles.ADMIN})
    client.force_login(bob)
    client.post(at(SOUTH, "/views/save/"), {"name": "Southern", "query": "q=waves", "shared": "on"})
    client.post(at(SOUTH, f"/r/{south_ids[0]}/comment/"), {"body": "south only"})
    client.logout()

    alice = person("alice", **{NORTH: roles.ADMIN})
    client.force_login(alice)
    assert "Southern Waves" not in client.get(at(NORTH, "/"), {"q": "Southern"}).content.decode()
    response = client.post(at(NORTH, "/bulk-reject/"), {"ids": south_ids})
    assert response.status_code == 302
    assert not Decision.objects.exists()
    assert "Southern" not in client.get(at(NORTH, "/views/")).content.decode()
    view = SavedView.objects.get(name="Southern")
    assert client.get(at(NORTH, f"/views/{view.pk}/delete/")).status_code == 404
    audit = client.get(at(NORTH, "/audit/"), {"account": SOUTH}).content.decode()
    assert "south only" not in audit and south_ids[0] not in audit
    csv = b"".join(client.get(at(NORTH, "/audit/export.csv"), {"account": SOUTH}))
    assert SOUTH.encode() not in csv


def test_roles_differ_per_account(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER, SOUTH: roles.VIEWER})
    client.force_login(alice)
    north_id, south_id = ids(NORTH)[0], ids(SOUTH)[0]
    assert client.post(at(NORTH, f"/r/{north_id}/claim/")).status_code == 302
    assert client.post(at(SOUTH, f"/r/{south_id}/claim/")).status_code == 403
    assert client.post(at(SOUTH, f"/r/{south_id}/reject/")).status_code == 403
    assert "(viewer)" in client.get(at(SOUTH, "/")).content.decode()
    assert "(reviewer)" in client.get(at(NORTH, "/")).content.decode()
    assert roles.role_on(alice, NORTH) == roles.REVIEWER
    assert roles.role_on(alice, SOUTH) == roles.VIEWER


def test_a_grant_taken_away_closes_the_account_at_once(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER})
    client.force_login(alice)
    assert client.get(at(NORTH, "/")).status_code == 200
    call_command("grant", "alice", NORTH, "--role", "none", stdout=io.StringIO())
    assert client.get(at(NORTH, "/")).status_code == 404


def test_superusers_see_every_account(two_accounts, client):
    root = User.objects.create_superuser("root", password="correct-horse-battery")
    client.force_login(root)
    assert client.get(at(SOUTH, "/")).status_code == 200
    assert client.get(at(NORTH, "/")).status_code == 200


def test_a_person_with_no_account_is_told_to_ask_for_one(db, client):
    nobody = User.objects.create_user("nobody", password="correct-horse-battery")
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert "No impact.com account has been granted to you" in response.content.decode()


# --- one place to switch ---------------------------------------------------------------------


def test_the_account_switcher_opens_the_account_and_remembers_it(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER, SOUTH: roles.VIEWER})
    client.force_login(alice)
    page = client.get(at(NORTH, "/")).content.decode()
    assert '<label for="account-switch">Account</label>' in page
    assert f'<option value="{SOUTH}">South Surf Ltd.</option>' in page

    assert client.get(at(NORTH, "/switch-account/"), {"to": SOUTH}).status_code == 405
    response = client.post(at(NORTH, "/switch-account/"), {"to": SOUTH})
    assert response["Location"] == f"/a/{SOUTH}/"
    assert Preference.objects.get(user=alice).account_sid == SOUTH
    assert "Southern Waves" in client.get("/").content.decode()  # remembered in the session
    client.logout()
    client.force_login(alice)  # and for the next session
    assert "Southern Waves" in client.get("/").content.decode()


def test_the_switcher_refuses_an_account_that_is_not_theirs(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER})
    client.force_login(alice)
    assert client.post("/switch-account/", {"to": SOUTH}).status_code == 404
    assert client.post("/switch-account/", {"to": "../../admin"}).status_code == 404
    assert not Preference.objects.filter(user=alice, account_sid=SOUTH).exists()


def test_reasons_and_saved_views_are_per_account(two_accounts, client):
    ada = person("ada", **{NORTH: roles.ADMIN, SOUTH: roles.ADMIN})
    client.force_login(ada)
    client.post(at(NORTH, "/reasons/"), {"label": "Northern rule"})
    client.post(at(SOUTH, "/reasons/"), {"label": "Northern rule"})  # same words, other account
    client.post(at(SOUTH, "/reasons/"), {"label": "Southern rule"})
    assert RejectionReason.active_labels(NORTH) == ["Northern rule"]
    assert RejectionReason.active_labels(SOUTH) == ["Northern rule", "Southern rule"]
    again = client.post(at(SOUTH, "/reasons/"), {"label": "Southern rule"})
    assert again.status_code == 400 and "already exists on this account" in again.content.decode()
    detail = client.get(at(NORTH, f"/r/{ids(NORTH)[0]}/")).content.decode()
    assert "Northern rule" in detail and "Southern rule" not in detail


# --- grants: the command and the Team page ---------------------------------------------------


def test_grant_command_sets_changes_and_refuses(two_accounts):
    user = person("carol")
    out = io.StringIO()
    call_command("grant", "carol", NORTH, "--role", "reviewer", stdout=out)
    assert "carol is now reviewer on" in out.getvalue()
    call_command("grant", "carol", NORTH, "--role", "admin", stdout=out)
    assert Grant.objects.get(user=user).role == "admin"
    user.refresh_from_db()
    assert user.is_staff  # the admin site, for the sign-ins
    with pytest.raises(CommandError, match="No user"):
        call_command("grant", "nobody", NORTH, "--role", "viewer")
    with pytest.raises(CommandError, match="add it first"):
        call_command("grant", "carol", "IRUnknown", "--role", "viewer")
    assert AuditEvent.objects.filter(action=accounts.ROLE_GRANTED, account_sid=NORTH).count() == 2


def test_an_accounts_admin_grants_roles_there_and_nowhere_else(two_accounts, client):
    ada = person("ada", **{NORTH: roles.ADMIN, SOUTH: roles.REVIEWER})
    carol = person("carol")
    client.force_login(ada)
    team = client.get(at(NORTH, "/team/")).content.decode()
    assert "Set role" in team
    assert client.post(at(NORTH, "/team/grant/"), {"username": "carol", "role": "reviewer"})
    assert roles.role_on(carol, NORTH) == roles.REVIEWER
    response = client.post(at(SOUTH, "/team/grant/"), {"username": "carol", "role": "admin"})
    assert response.status_code == 403
    assert roles.role_on(carol, SOUTH) is None
    assert "Set role" not in client.get(at(SOUTH, "/team/")).content.decode()


# --- the Accounts page (superusers) ----------------------------------------------------------


def test_superusers_add_an_account_in_the_app_and_never_see_its_token_again(servers, client):
    north, _ = servers
    root = User.objects.create_superuser("root", password="correct-horse-battery")
    client.force_login(root)
    form = {"sid": NORTH, "token": NORTH_TOKEN, "name": "", "base_url": north.url}
    response = client.post("/impact-accounts/", form, follow=True)
    page = response.content.decode()
    assert "North Outdoor Co." in page and "impact.com accepted its credentials" in page
    assert NORTH_TOKEN not in page
    assert NORTH_TOKEN not in client.get("/impact-accounts/").content.decode()

    refused = client.post("/impact-accounts/", {**form, "sid": SOUTH})
    assert refused.status_code == 400
    assert "did not accept" in refused.content.decode()
    assert NORTH_TOKEN not in refused.content.decode()
    assert not Account.objects.filter(sid=SOUTH).exists()


def test_only_superusers_open_the_accounts_page(two_accounts, client):
    ada = person("ada", **{NORTH: roles.ADMIN})
    client.force_login(ada)
    assert client.get(at(NORTH, "/impact-accounts/")).status_code == 403
    assert client.post(at(NORTH, "/impact-accounts/"), {"sid": SOUTH}).status_code == 403


def test_tokens_never_reach_a_log_line(servers, caplog):
    north, _ = servers
    north.account["CompanyInformation"] = [(401, {"Message": f"bad {NORTH_TOKEN}"})]
    with caplog.at_level(logging.DEBUG), pytest.raises(CommandError):
        call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    basic = base64.b64encode(f"{NORTH}:{NORTH_TOKEN}".encode()).decode()
    for secret in (NORTH_TOKEN, quote(NORTH_TOKEN, safe=""), basic):
        assert secret not in caplog.text


# --- cost: the account adds no per-row query -------------------------------------------------


def test_list_query_count_does_not_grow_with_accounts_or_rows(
    two_accounts, client, django_assert_max_num_queries
):
    north, _ = two_accounts
    for n in range(40):
        serve(north, MediaPartnerName=f"Partner {n}")
    sync.run_sync(NORTH)
    alice = person("alice", **{NORTH: roles.REVIEWER, SOUTH: roles.VIEWER})
    client.force_login(alice)
    client.get(at(NORTH, "/"))  # warm the caches
    with django_assert_max_num_queries(6):
        client.get(at(NORTH, "/"))


def test_the_worker_starts_each_due_accounts_sync_and_one_failure_stops_no_other(
    two_accounts, settings, django_capture_on_commit_callbacks
):
    from requests_app import housekeeping
    from requests_app.models import SyncRun

    north, south = two_accounts
    serve(south, MediaPartnerName="New in the south")
    Account.objects.update(last_synced_at=None, last_full_sync_at=None)  # everyone is due
    north.fail_next("GET", "hang")  # North's impact.com hangs
    settings.IMPACT_READ_TIMEOUT = 0.3
    last = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first()

    with django_capture_on_commit_callbacks(execute=True):  # the worker runs each task
        started = housekeeping.start_due_syncs()

    assert started == [impact.default_account_sid(), NORTH, SOUTH]
    runs = dict(SyncRun.objects.filter(pk__gt=last).values_list("account_sid", "status"))
    assert runs[NORTH] == SyncRun.Status.FAILED
    assert runs[SOUTH] == SyncRun.Status.SUCCEEDED
    assert len(ids(SOUTH)) == 3


def test_all_my_accounts_counts_each_accounts_queues_and_links_into_them(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER, SOUTH: roles.VIEWER})
    client.force_login(alice)
    page = client.get(at(NORTH, "/all-accounts/")).content.decode()
    assert "North Outdoor Co." in page and "South Surf Ltd." in page
    assert "IRSandbox" not in page  # not hers
    assert 'aria-label="All open in South Surf Ltd.: 2"' in page
    assert f'<a href="/a/{SOUTH}/?queue=overdue" aria-label="Overdue in South' in page
    assert f'<a href="/a/{NORTH}/">North Outdoor Co.</a>' in page


# --- what a review found: nothing of another account leaks through the side doors ----------


def test_sign_ins_show_only_for_people_of_the_account_and_all_of_them_for_superusers(
    two_accounts, client
):
    vera = person("vera", **{NORTH: roles.ADMIN})
    person("sam", **{SOUTH: roles.VIEWER})
    client.force_login(User.objects.get(username="sam"))  # a sign-in event of no account
    client.force_login(vera)
    page = client.get(at(NORTH, "/audit/"), {"person": "sam"}).content.decode()
    assert ">sam<" not in page
    csv = b"".join(client.get(at(NORTH, "/audit/export.csv"), {"person": "sam"})).decode()
    assert "sam" not in csv
    assert ">vera<" in client.get(at(NORTH, "/audit/")).content.decode()  # her own, yes
    root = User.objects.create_superuser("root", password="correct-horse-battery")
    client.force_login(root)
    assert ">sam<" in client.get(at(NORTH, "/audit/"), {"person": "sam"}).content.decode()


def test_cached_parts_of_a_page_never_carry_another_accounts_links(two_accounts, client):
    ada = person("ada", **{NORTH: roles.ADMIN, SOUTH: roles.ADMIN})
    client.force_login(ada)
    client.get(at(NORTH, "/audit/"))
    client.get(at(NORTH, "/"))
    south_audit = client.get(at(SOUTH, "/audit/")).content.decode()
    assert f'action="/a/{SOUTH}/audit/"' in south_audit
    assert f"/a/{NORTH}/" not in south_audit.split("<main")[1]


def test_an_address_never_adds_an_account(two_accounts, client):
    vera = person("vera", **{NORTH: roles.VIEWER})
    client.force_login(vera)
    response = client.get("/a/IRNeverAdded0001/")
    assert response.status_code == 404
    assert not Account.objects.filter(sid="IRNeverAdded0001").exists()
    assert 'href="/a/IRNeverAdded0001' not in response.content.decode()  # links lead home


def test_assigning_to_someone_of_another_account_does_not_name_them(two_accounts, client):
    alice = person("alice", **{NORTH: roles.REVIEWER})
    secret = person("secret-bob", **{SOUTH: roles.ADMIN})
    client.force_login(alice)
    url = at(NORTH, f"/r/{ids(NORTH)[0]}/assign/")
    page = client.post(url, {"to": secret.pk}, follow=True).content.decode()
    assert "secret-bob" not in page
    assert "That person cannot review requests on this account." in page


def test_signing_out_inside_an_account_lets_the_next_person_land_in_theirs(two_accounts, client):
    person("ua", **{NORTH: roles.VIEWER})
    person("ub", **{SOUTH: roles.VIEWER})
    client.login(username="ua", password="correct-horse-battery")
    response = client.post(at(NORTH, "/accounts/logout/"))
    assert response["Location"] == reverse("login")  # no account in it
    response = client.post(
        response["Location"], {"username": "ub", "password": "correct-horse-battery"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "Southern Waves" in page and NORTH not in page


def test_static_files_are_never_addressed_inside_an_account(two_accounts, client):
    from tvr_dashboard import settings as configured

    # Relative, Django would add the script prefix of the first request that read it.
    assert configured.STATIC_URL.startswith("/")
    vera = person("vera", **{NORTH: roles.VIEWER})
    client.force_login(vera)
    page = client.get(at(NORTH, "/")).content.decode()
    assert 'href="/static/css/app.css"' in page and 'src="/static/js/app.js"' in page


def test_the_request_page_names_its_account(two_accounts, client):
    vera = person("vera", **{NORTH: roles.VIEWER})
    client.force_login(vera)
    page = client.get(at(NORTH, f"/r/{ids(NORTH)[0]}/")).content.decode()
    assert "North Outdoor Co." in page.split("</header>")[0]


def test_an_account_admin_manages_only_their_own_accounts_sign_ins(two_accounts, client):
    ada = person("ada", **{NORTH: roles.ADMIN})
    bea = person("bea", **{SOUTH: roles.ADMIN})
    newcomer = person("newcomer")  # no role yet: any admin may set their password
    client.force_login(ada)
    assert client.get(f"/admin/auth/user/{newcomer.pk}/change/").status_code == 200
    for path in (f"/admin/auth/user/{bea.pk}/change/", f"/admin/auth/user/{bea.pk}/password/"):
        response = client.post(path, {"password1": "x" * 20, "password2": "x" * 20})
        assert response.status_code in (302, 404) and "bea" not in response.get("Location", "")
    bea.refresh_from_db()
    assert bea.check_password("correct-horse-battery")
    assert "bea" not in client.get("/admin/auth/user/").content.decode()


@pytest.mark.parametrize(
    ("base_url", "message"),
    [("http://api.example.com", "must be https"), ("ftp://127.0.0.1", "https address")],
)
def test_a_token_never_goes_over_plain_http_to_another_machine(servers, base_url, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", base_url)


def test_a_stored_token_goes_only_where_it_was_checked(servers):
    north, south = servers
    call_command("add_account", NORTH, "--token-env", "NORTH_TOKEN", "--base-url", north.url)
    with pytest.raises(CommandError, match="Give the auth token again"):
        call_command("add_account", NORTH, "--base-url", south.url)
    assert not [r for r in south.journal if NORTH in r[1]]


def test_a_token_that_is_not_printable_ascii_is_refused_without_echo(servers, monkeypatch):
    north, _ = servers
    monkeypatch.setenv("ODD_TOKEN", "tøken-\u2028-secret")
    with pytest.raises(CommandError, match="printable ASCII") as refused:
        call_command("add_account", NORTH, "--token-env", "ODD_TOKEN", "--base-url", north.url)
    assert "secret" not in str(refused.value)
