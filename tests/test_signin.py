"""Sign-in: audited, throttled across processes (counted in the database), roles by command."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from requests_app import roles
from requests_app.models import AuditEvent
from requests_app.signin import ThrottledAuthenticationForm

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
    assert event.detail == {"username": "alice", "ip": "10.1.2.3"}
    assert "wrong-password-123" not in str(event.content())


def test_five_failures_lock_the_username_even_with_the_right_password(alice, settings):
    settings.TVR_SIGNIN_MAX_FAILURES = 5
    for _ in range(5):
        assert not sign_in("alice", "nope-nope-nope").is_valid()

    form = sign_in("alice", PASSWORD)

    assert not form.is_valid()
    assert "Too many failed sign-ins" in str(form.errors)
    assert AuditEvent.objects.filter(action="sign_in_failed", detail__throttled=True).count() == 1
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


def test_create_user_gives_a_new_user_exactly_one_role(monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", "a-long-and-unusual-passphrase")

    call_command("create_user", "rita", "--role", "reviewer", "--password-env", "NEW_PASSWORD")
    call_command("create_user", "rita", "--role", "admin")

    rita = User.objects.get(username="rita")
    assert roles.role_of(rita) == roles.ADMIN
    assert list(rita.groups.values_list("name", flat=True)) == ["admin"]
    assert rita.is_staff
    assert rita.check_password("a-long-and-unusual-passphrase")


def test_create_user_refuses_a_weak_password_and_creates_nobody(monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "123")

    with pytest.raises(CommandError, match="too short"):
        call_command("create_user", "weak", "--role", "viewer", "--password-env", "NEW_PASSWORD")

    assert not User.objects.filter(username="weak").exists()


def test_demo_users_are_one_per_role_in_sandbox_mode(capsys):
    call_command("create_demo_users")

    assert {u.username: roles.role_of(u) for u in User.objects.all()} == {
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
