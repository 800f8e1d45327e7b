"""A `requests` transport adapter that answers from the sandbox in-process, with no socket.

`impact.ImpactClient` is given a session with this adapter mounted, so the dashboard runs
against the sandbox with nothing else started; every byte still goes through the same HTTP
encoding (URL, headers, form body, JSON reply) as it would over the network.
"""

from __future__ import annotations

import time
from io import BytesIO
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from requests_app.impact import IN_PROCESS_SANDBOX_URL

from . import api


class SandboxAdapter(HTTPAdapter):
    """An adapter whose "network" is a function call; the reply is built by requests' own
    `build_response` from a urllib3 response, as for a real connection."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        latency = settings.IMPACT_SANDBOX_LATENCY_MS / 1000
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        read_timeout = getattr(read_timeout, "read_timeout", read_timeout)  # urllib3's Timeout
        if read_timeout is not None and latency > read_timeout:
            # A server slower than the client's patience: the client gives up, as it would.
            time.sleep(read_timeout)
            raise requests.exceptions.ReadTimeout(f"in-process sandbox took over {read_timeout}s")
        url = urlsplit(request.url)
        body = request.body or b""
        reply = api.handle(
            request.method,
            url.path,
            url.query,
            dict(request.headers),
            body.encode() if isinstance(body, str) else body,
        )
        raw = HTTPResponse(
            body=BytesIO(reply.body),
            headers=reply.headers,
            status=reply.status,
            reason=reply.reason,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


def in_process_session() -> requests.Session:
    session = requests.Session()
    session.mount(IN_PROCESS_SANDBOX_URL, SandboxAdapter())
    return session
