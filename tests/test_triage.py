"""Triage: the list a reviewer came from travels with them, and after a decision the same
list's next open request opens by itself (unless they turned that off)."""

from __future__ import annotations

import pytest

from requests_app.models import Preference

pytestmark = pytest.mark.django_db


def test_auto_advance_is_on_until_a_person_turns_it_off(alice, bob):
    assert Preference.auto_advance_for(alice) is True
    Preference.objects.create(user=alice, auto_advance=False)
    assert Preference.auto_advance_for(alice) is False
    assert Preference.auto_advance_for(bob) is True
