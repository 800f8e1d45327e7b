"""System checks: `manage.py check --deploy` warns about what is fine for a laptop only."""

from __future__ import annotations

from typing import Any

from django.core import checks

from requests_app import credentials


@checks.register(checks.Tags.security, deploy=True)
def encryption_key_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Account tokens encrypted with a key derived from SECRET_KEY are only as safe as it, and
    changing SECRET_KEY would make them unreadable."""
    if not credentials.uses_derived_key():
        return []
    return [
        checks.Warning(
            f"{credentials.KEYS_VARIABLE} is not set: account tokens are encrypted with a "
            "development key derived from DJANGO_SECRET_KEY.",
            hint=(
                "Generate a key with `python -c 'from cryptography.fernet import Fernet; "
                f"print(Fernet.generate_key().decode())'`, set {credentials.KEYS_VARIABLE} to "
                "it, then run `manage.py rotate_account_tokens` (the README's key rotation)."
            ),
            id="tvr.W001",
        )
    ]
