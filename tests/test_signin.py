"""Sign-in: audited, throttled per (username, address) and per address with growing delays
(counted in the database, so across processes), failures aggregated; roles by command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.test import RequestFactory

from requests_app import impact, roles
from requests_app.models import AuditEvent, SignInFailure
from requests_app.signin import ThrottledAuthenticationForm, client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def sign_in(username: str, password: str, ip: str = "10.1.2.3") -> ThrottledAuthenticationForm:
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=ip)
    form = ThrottledAuthenticationForm(request, data={"username": username, "password": password})
    form.is_valid()
    return form


def test_a_successful_sign_in_is_audited_with_who_and_from_where(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.actor, event.outcome, event.detail["ip"]) == (alice, "success", "127.0.0.1")


def test_a_failed_sign_in_is_audited_without_the_password(alice):
    form = sign_in("Alice", "wrong-password-123")

    assert not form.is_valid()
    event = AuditEvent.objects.get(action="sign_in_failed")
    assert event.detail.keys() == {"username", "ip", "window_start"}
    assert (event.detail["username"], event.detail["ip"]) == ("alice", "10.1.2.3")
    assert "wrong-password-123" not in str(event.content())


def test_five_failures_from_one_address_make_that_username_wait_even_with_the_right_password(
    alice, settings
):
    settings.TVR_SIGNIN_MAX_FAILURES = 5
    for _ in range(5):
        assert not sign_in("alice", "nope-nope-nope").is_valid()

    form = sign_in("alice", PASSWORD)

    assert not form.is_valid()
    assert "Too many attempts; try again in 15 seconds." in str(form.errors)
    assert AuditEvent.objects.filter(action="sign_in_failed").count() == 1  # one per window
    assert SignInFailure.objects.values_list("failures", "refused").get() == (5, 1)
    assert not AuditEvent.objects.filter(action="sign_in").exists()


def test_failures_for_one_user_do_not_lock_out_another(alice, bob, settings):
    settings.TVR_SIGNIN_MAX_FAILURES = 3
    for _ in range(3):
        sign_in("alice", "nope-nope-nope")

    assert sign_in("bob", PASSWORD).is_valid()


def test_many_failures_from_one_address_lock_that_address(alice, settings):
    settings.TVR_SIGNIN_MAX_FAILURES_PER_IP = 4
    for name in ["x1", "x2", "x3", "x4"]:
        sign_in(name, "nope-nope-nope", ip="203.0.113.9")

    assert not sign_in("alice", PASSWORD, ip="203.0.113.9").is_valid()
    assert sign_in("alice", PASSWORD, ip="198.51.100.1").is_valid()


def test_an_attacker_elsewhere_cannot_lock_a_person_out(alice, settings):
    settings.TVR_SIGNIN_MAX_FAILURES = 3
    for _ in range(50):
        assert not sign_in("alice", "nope-nope-nope", ip="203.0.113.9").is_valid()

    assert sign_in("alice", PASSWORD, ip="198.51.100.1").is_valid()
    assert not sign_in("alice", PASSWORD, ip="203.0.113.9").is_valid()


def rewind(seconds: int) -> None:
    """As if the failures so far happened `seconds` earlier."""
    SignInFailure.objects.update(last_at=F("last_at") - timedelta(seconds=seconds))


def test_each_further_failure_doubles_the_wait(alice, settings):
    settings.TVR_SIGNIN_MAX_FAILURES, settings.TVR_SIGNIN_DELAY_SECONDS = 2, 15
    settings.TVR_SIGNIN_MAX_DELAY_SECONDS = 50
    sign_in("alice", "nope-nope-nope")
    sign_in("alice", "nope-nope-nope")
    waits = []
    for _ in range(4):
        refused = sign_in("alice", PASSWORD)
        waits.append(refused.errors.as_data()["__all__"][0].params["seconds"])
        rewind(waits[-1])
        assert not sign_in("alice", "nope-nope-nope").is_valid()  # checked, and wrong

    assert waits == [15, 30, 50, 50]
    assert "try again in 50 seconds" in str(sign_in("alice", PASSWORD).errors)
    rewind(50)
    assert sign_in("alice", PASSWORD).is_valid()


def test_a_successful_sign_in_clears_that_persons_failures_from_that_address(
    client, alice, bob, settings
):
    settings.TVR_SIGNIN_MAX_FAILURES = 3
    for name in ("alice", "alice", "bob"):
        client.post("/accounts/login/", {"username": name, "password": "nope-nope-nope"})

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert list(SignInFailure.objects.values_list("username", flat=True)) == ["bob"]


def test_failures_are_forgotten_a_window_after_the_last_one(alice, settings):
    settings.TVR_SIGNIN_MAX_FAILURES, settings.TVR_SIGNIN_WINDOW_MINUTES = 2, 60
    settings.TVR_SIGNIN_DELAY_SECONDS = settings.TVR_SIGNIN_MAX_DELAY_SECONDS = 10_000
    for _ in range(2):
        sign_in("alice", "nope-nope-nope")
    rewind(59 * 60)
    assert not sign_in("alice", PASSWORD).is_valid()  # the delay outlasts the window here

    rewind(61 * 60)

    assert sign_in("alice", PASSWORD).is_valid()


def test_a_flood_of_failed_sign_ins_is_counted_not_written_post_by_post(client, alice):
    for i in range(200):
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": f"guess-{i}"},
            REMOTE_ADDR="203.0.113.9",
        )  # fmt: skip

    assert "Too many attempts; try again in" in response.content.decode()
    assert AuditEvent.objects.count() == 1
    assert SignInFailure.objects.values_list("failures", "refused").get() == (5, 195)


def test_a_flood_of_made_up_usernames_adds_rows_only_until_the_address_waits(client, settings):
    settings.TVR_SIGNIN_MAX_FAILURES_PER_IP = 8
    for i in range(200):
        client.post(
            "/accounts/login/", {"username": f"user{i}", "password": "guess"},
            REMOTE_ADDR="203.0.113.9",
        )  # fmt: skip

    assert AuditEvent.objects.count() == 8
    assert SignInFailure.objects.count() == 9  # eight usernames, and the address's refusals
    assert SignInFailure.objects.get(username="").refused == 192


def test_the_admin_sign_in_is_throttled_too(client, admin, settings):
    admin.is_staff = True
    admin.save()
    settings.TVR_SIGNIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post("/admin/login/", {"username": "ada", "password": "nope-nope-nope"})

    response = client.post("/admin/login/", {"username": "ada", "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many attempts; try again in" in response.content.decode()


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.1"),  # no proxy trusted: the header is the client's word
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged entry on the left is ignored
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
        (3, "198.51.100.7", "10.0.0.1"),  # fewer hops than configured: do not guess
    ],
)
def test_the_client_address_is_read_behind_trusted_proxies_only(
    settings, proxies, forwarded, expected
):
    settings.TVR_TRUSTED_PROXIES = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_behind_the_proxy_people_are_throttled_by_their_own_address(alice, settings):
    settings.TVR_TRUSTED_PROXIES, settings.TVR_SIGNIN_MAX_FAILURES = 1, 2
    factory = RequestFactory()

    def attempt(password: str, client: str) -> bool:
        request = factory.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client)
        data = {"username": "alice", "password": password}
        return ThrottledAuthenticationForm(request, data=data).is_valid()

    for _ in range(10):
        attempt("nope-nope-nope", "203.0.113.9")

    assert attempt(PASSWORD, "198.51.100.1")
    assert not attempt(PASSWORD, "203.0.113.9")


def test_create_user_gives_a_new_user_exactly_one_role(monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", "a-long-and-unusual-passphrase")

    call_command("create_user", "rita", "--role", "reviewer", "--password-env", "NEW_PASSWORD")
    call_command("create_user", "rita", "--role", "admin")

    rita = User.objects.get(username="rita")
    assert roles.role_on(rita, impact.default_account_sid()) == roles.ADMIN
    assert list(rita.tvr_grants.values_list("role", flat=True)) == ["admin"]
    assert list(rita.groups.values_list("name", flat=True)) == ["admin"]  # the admin site
    assert rita.is_staff
    assert rita.check_password("a-long-and-unusual-passphrase")


def test_create_user_refuses_a_weak_password_and_creates_nobody(monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "123")

    with pytest.raises(CommandError, match="too short"):
        call_command("create_user", "weak", "--role", "viewer", "--password-env", "NEW_PASSWORD")

    assert not User.objects.filter(username="weak").exists()


def test_demo_users_are_one_per_role_in_sandbox_mode(capsys):
    call_command("create_demo_users")

    sid = impact.default_account_sid()
    assert {u.username: roles.role_on(u, sid) for u in User.objects.all()} == {
        "viewer": "viewer",
        "reviewer": "reviewer",
        "reviewer2": "reviewer",
        "admin": "admin",
    }
    assert "tvr-demo-2026" in capsys.readouterr().out


def test_no_demo_users_are_created_against_the_real_impact_com(settings):
    settings.IMPACT_ACCOUNT_SID, settings.IMPACT_AUTH_TOKEN = "IRreal", "secret-token"

    call_command("create_demo_users")

    assert not User.objects.exists()
