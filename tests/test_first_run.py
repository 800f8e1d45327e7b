"""A first run without surprises: the example .env is safe to copy, create_user validates
before it writes, a REDIS_URL without the redis package fails at start, `make run` with its
port taken says so, `sync_requests --quiet` is quiet, `seed_sandbox --reset` forgets the
dashboard's copies of the old requests (the audit trail stays and marks the cut)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from requests_app import sync
from requests_app.models import AuditEvent, Decision, TrackingValueRequest
from requests_app.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ONLY = {
    "DATABASE_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS", "DJANGO_SECURE_COOKIES", "DJANGO_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS", "REDIS_URL", "TVR_TRUSTED_PROXIES", "DATABASE_CONN_MAX_AGE",
}  # fmt: skip


def example_env() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IMPACT_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_env_sets_no_production_value_and_every_other_is_commented():
    active = example_env()
    assert not PRODUCTION_ONLY & set(active)
    text = (ROOT / ".env.example").read_text()
    for key in PRODUCTION_ONLY:
        assert f"# PRODUCTION: {key}=" in text, key


def test_the_example_env_as_copied_passes_check_on_sqlite_and_the_sandbox():
    result = manage("check", env=example_env())
    assert result.returncode == 0, result.stderr


def test_redis_url_without_the_redis_package_fails_at_start_with_the_fix():
    try:
        import redis  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the redis package is installed here")
    result = manage("check", env={"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.returncode != 0
    assert "pip install -e '.[redis]'" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_with_its_port_taken_says_which_port_to_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {port} is in use: make run PORT={port + 1}" in result.stderr
    assert "migrate" not in result.stdout  # stopped before doing anything


def test_make_run_stops_only_the_worker_it_started():
    makefile = (ROOT / "Makefile").read_text()
    assert "kill 0" not in makefile  # that killed the calling shell too
    assert "trap 'kill $$worker" in makefile


@pytest.mark.django_db
def test_create_user_with_the_password_variable_unset_creates_nothing(monkeypatch):
    monkeypatch.delenv("NEW_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="NEW_PASSWORD is not set"):
        call_command("create_user", "alice", "--role", "reviewer", "--password-env", "NEW_PASSWORD")
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.django_db
def test_create_user_with_a_weak_password_creates_nothing_and_a_rerun_creates(monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", "alice")
    with pytest.raises(CommandError):
        call_command("create_user", "alice", "--role", "reviewer", "--password-env", "NEW_PASSWORD")
    assert not User.objects.filter(username="alice").exists()
    monkeypatch.setenv("NEW_PASSWORD", "a-much-better-passphrase-1")
    call_command("create_user", "alice", "--role", "reviewer", "--password-env", "NEW_PASSWORD")
    assert "Created alice as reviewer" in capsys.readouterr().out
    user = User.objects.get(username="alice")
    assert user.check_password("a-much-better-passphrase-1")
    assert list(user.tvr_grants.values_list("role", flat=True)) == ["reviewer"]


@pytest.mark.django_db
def test_sync_requests_quiet_prints_nothing_on_success(sandbox_sid, capsys):
    seed.seed(sandbox_sid, count=20, seed=2, today=date(2026, 11, 24))
    call_command("sync_requests", "--quiet")
    assert capsys.readouterr().out == ""
    assert TrackingValueRequest.objects.count() == 20


@pytest.mark.django_db
def test_seed_reset_forgets_the_old_requests_decisions_and_keeps_the_audit_trail(
    sandbox_sid, alice, capsys
):
    seed.seed(sandbox_sid, count=30, seed=2, today=date(2026, 11, 24))
    sync.run_sync(sandbox_sid, user=alice)
    tvr = TrackingValueRequest.objects.filter(state="NEW", request_type="BRANDED_URL_TRACKING")[0]
    from requests_app import decisions
    from requests_app.impact import Approval

    decisions.approve(request=tvr, user=alice, approval=Approval(tvr.request_type, url_id=880001))
    before = AuditEvent.objects.count()
    assert before and Decision.objects.exists()

    call_command("seed_sandbox", "--reset", "--count", "10")

    out = capsys.readouterr().out
    assert "Dashboard cache of" in out and "audit trail is append-only" in out
    assert not TrackingValueRequest.objects.exists() and not Decision.objects.exists()
    assert AuditEvent.objects.count() == before + 1
    cut = AuditEvent.objects.order_by("-id").first()
    assert cut.action == "sandbox_reset" and cut.detail["decisions"] == 1
    call_command("sync_requests", "--quiet")
    assert TrackingValueRequest.objects.count() == 10
