"""Security headers, CSP without inline script, and a clean `check --deploy` in production."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_pages_carry_csp_and_have_no_inline_script_or_style(client, alice, make_request):
    tvr = make_request()
    client.force_login(alice)
    for url in (reverse("requests:list"), reverse("requests:detail", args=[tvr.impact_id])):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert "<style" not in html and " style=" not in html
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_htmx_posts_without_csrf_token_are_refused(alice, make_request):
    from django.test import Client

    tvr = make_request()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post(reverse("requests:claim", args=[tvr.impact_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 403


# Values for the variables the README's deploy list names without one.
EXAMPLE_VALUES = {
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
    "DJANGO_ALLOWED_HOSTS": "tvr.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://tvr.example.com",
    "IMPACT_ACCOUNT_SID": "IRexample0000000000000000000001",
    "IMPACT_AUTH_TOKEN": "an-example-token",
    "TVR_ENCRYPTION_KEYS": "bWFkZS11cC1mZXJuZXQta2V5LWZvci10aGUtdGVzdCE=",  # 32 bytes, base64
    "TVR_SITE_URL": "https://tvr.example.com",
    "TVR_EMAIL_HOST": "smtp.example.com",
}


def readme_deploy_settings() -> dict[str, str]:
    """The environment the README's "Deploying for a team" settings list describes."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploying for a team") :]
    bullet = section[section.index("- **Settings**") :]
    bullet = bullet[: bullet.index("\n- **", 1)]
    named = dict.fromkeys(re.findall(r"`([A-Z][A-Z0-9_]+)`", bullet), "")
    named |= dict(re.findall(r"`([A-Z][A-Z0-9_]+)=([^`]*)`", bullet))
    return {name: value or EXAMPLE_VALUES[name] for name, value in named.items()}


def test_check_deploy_is_clean_with_the_readmes_production_settings(tmp_path):
    production = readme_deploy_settings()
    assert {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"} <= production.keys()
    # Nothing from this shell's settings: only what the README lists (plus the database,
    # which `check` does not connect to). DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests'.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "TVR_", "IMPACT_", "DATABASE_", "REDIS_"))
    }
    env = {
        **inherited,
        **production,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.mark.django_db
def test_partner_text_is_inert_on_every_page(client, admin, make_request):
    tvr = make_request(
        MediaPartnerName=f"Partner {HOSTILE}",
        CampaignName=f"Campaign {HOSTILE}",
        AdditionalInstructions=f"Please {HOSTILE}",
        UniqueUrls=[{"Id": "5", "Url": f"javascript:alert(3)//{HOSTILE}"}],
        DealId="3001",
        DealName=f"Deal {HOSTILE}",
        DealDescription=f"Describe {HOSTILE}",
        DealProducts=[{"ProductName": f"Tent {HOSTILE}", "ProductImageURL": "javascript:alert(4)"}],
        BogoBuyImageUrl='https://cdn.example/x.png" onerror="alert(5)',
    )
    client.force_login(admin)
    client.post(reverse("requests:comment", args=[tvr.impact_id]), {"body": f"Note {HOSTILE}"})
    bodies = {
        "list": client.get(reverse("requests:list")),
        "partial": client.get(reverse("requests:list"), {"q": "partner"}, HTTP_HX_REQUEST="true"),
        "detail": client.get(reverse("requests:detail", args=[tvr.impact_id])),
        "audit": client.get(reverse("requests:audit")),
    }
    # (The CSV export's formula neutralising: tests/test_reports.py.)
    for where, response in bodies.items():
        html = response.content.decode()
        assert "&lt;script&gt;alert(1)" in html or where == "audit", where
        assert "<script>alert" not in html and "<img src=x" not in html, where
        assert not re.search(r"""(src|href)=["']?javascript:""", html, re.I), where
        assert 'onerror="alert(5)' not in html, where


def url_arguments(tvr) -> dict:
    """A value for every argument the app's URLs take."""
    return {
        "impact_id": tvr.impact_id,
        "decision_id": 1,
        "view_id": 1,
        "reason_id": 1,
        "rule_id": 1,
        "mute_id": 1,
        "token": "not-a-token",
        "kind": "url",
    }


@pytest.mark.django_db
def test_every_url_needs_a_login_for_every_method(client, make_request):
    from django.urls import get_resolver

    tvr = make_request()
    args = url_arguments(tvr)
    patterns = get_resolver().url_patterns
    app = next(p for p in patterns if getattr(p, "app_name", None) == "requests")
    assert len(app.url_patterns) >= 18
    for pattern in app.url_patterns:
        names = pattern.pattern.regex.groupindex
        url = reverse(f"requests:{pattern.name}", kwargs={k: args[k] for k in names})
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (302, 405), (url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
def test_every_view_says_which_http_methods_it_answers(client, admin, make_request):
    from django.urls import get_resolver

    tvr = make_request()
    client.force_login(admin)
    args = url_arguments(tvr)
    app = next(p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "requests")
    for pattern in app.url_patterns:
        names = pattern.pattern.regex.groupindex
        url = reverse(f"requests:{pattern.name}", kwargs={k: args[k] for k in names})
        for method in (client.put, client.patch, client.delete):
            assert method(url).status_code == 405, (url, method.__name__)
