"""Run tap-impact (the Singer tap for impact.com) with its base URL pointed elsewhere.

tap-impact 2.1.1 has no base-URL setting: it holds `https://api.impact.com` in two places,
`ImpactClient.base_url` (built in its constructor) and `tap_impact.sync.BASE_URL` (prefixed to
every `@nextpageuri`). This sets exactly those two to TAP_IMPACT_BASE_URL and then runs the
tap's own `main()`; its endpoints, parameters, headers and parsing are untouched.
Used by scripts/tap_impact_check.sh; not part of the product.
"""

import os

import tap_impact
from tap_impact import client, sync

BASE = os.environ["TAP_IMPACT_BASE_URL"].rstrip("/")
sync.BASE_URL = BASE
_original_init = client.ImpactClient.__init__


def _init(self, account_sid, auth_token, api_catalog, user_agent=None):
    _original_init(self, account_sid, auth_token, api_catalog, user_agent)
    self.base_url = f"{BASE}/{api_catalog}/{account_sid}"


client.ImpactClient.__init__ = _init

if __name__ == "__main__":
    tap_impact.main()
