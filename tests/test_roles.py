"""Every role against every action, enforced on the server (not only by hidden buttons)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ACTIONS = {
    "approve": ("requests:approve", True, {"url_id": "5"}),
    "reject": ("requests:reject", True, {}),
    "claim": ("requests:claim", True, {}),
    "release": ("requests:release", True, {}),
    "comment": ("requests:comment", True, {"body": "hello"}),
    "bulk_reject": ("requests:bulk_reject", False, {}),
    "sync": ("requests:sync", False, {}),
    "audit_export": ("requests:audit_export", False, None),
    "audit_page": ("requests:audit", False, None),
    "keep_reasons": ("requests:reasons", False, {"label": "Expired deal"}),
}
ALLOWED = {
    "viewer": {"audit_page"},
    "reviewer": {"approve", "reject", "claim", "release", "comment", "bulk_reject", "audit_page"},
    "admin": set(ACTIONS),
}


@pytest.mark.parametrize("role", ALLOWED)
@pytest.mark.parametrize("action", ACTIONS)
def test_role_can_or_cannot(client, viewer, alice, admin, live_request, role, action):
    user = {"viewer": viewer, "reviewer": alice, "admin": admin}[role]
    tvr = live_request(
        RequestType="BRANDED_URL_TRACKING", PromoCodes=[], UniqueUrls=[{"Id": "1", "Url": ""}]
    )
    client.force_login(user)
    name, per_request, data = ACTIONS[action]
    url = reverse(name, args=[tvr.impact_id]) if per_request else reverse(name)
    if action == "bulk_reject":
        data = {"ids": [tvr.impact_id]}
    response = client.get(url) if data is None else client.post(url, data)
    if action in ALLOWED[role]:
        assert response.status_code != 403
    else:
        assert response.status_code == 403
