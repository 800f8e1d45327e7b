"""A stand-in impact.com for the sync benchmark: prepared pages served from memory.

`python -m bench.standin --requests N --page-size S --port P` builds N sandbox-shaped requests
(the sandbox's own deterministic Seeder), encodes every page once, and then answers the list
endpoint from those bytes over keep-alive HTTP/1.1, in its own process; `--changed 0.01`
serves the same requests with one in a hundred edited. So the floor a sync is
compared with is the network and JSON decoding, not the sandbox's database.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SID = "IRBench000000000000000000000001"
TOKEN = "bench-token"


def build_pages(count: int, page_size: int, changed: float = 0.0) -> list[bytes]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvr_dashboard.settings")
    django.setup()
    from requests_app.sandbox.seed import FIRST_ID, Seeder

    seeder = Seeder(SID, 1, datetime.now(UTC).date())
    items = [seeder.request(FIRST_ID + i) for i in range(count)]
    if changed:
        # The same requests with one in 1/changed edited, as impact.com would between syncs:
        # new instructions (so the row's search text and trigrams change too).
        every = max(1, round(1 / changed))
        for item in items[::every]:
            item["AdditionalInstructions"] = (item.get("AdditionalInstructions") or "") + " Edited."
    pages = max(1, -(-count // page_size))
    path = f"/Advertisers/{SID}/TrackingValueRequests"
    encoded = []
    for number in range(1, pages + 1):
        chunk = items[(number - 1) * page_size : number * page_size]
        envelope = {
            "@page": str(number),
            "@numpages": str(pages),
            "@pagesize": str(page_size),
            "@total": str(count),
            "@nextpageuri": f"{path}?Page={number + 1}&PageSize={page_size}"
            if number < pages
            else "",
            "TrackingValueRequests": chunk,
        }
        encoded.append(json.dumps(envelope).encode())
    return encoded


def serve(pages: list[bytes], port: int, page_ms: float = 0.0) -> None:
    path = f"/Advertisers/{SID}/TrackingValueRequests"
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                return self._send(401, b'{"Status": "ERROR", "Message": "Unauthorized"}')
            url = urlsplit(self.path)
            number = int(parse_qs(url.query).get("Page", ["1"])[0])
            # Only the list: the account's other endpoints (read after a full sync) are absent.
            if url.path != path or not 1 <= number <= len(pages):
                return self._send(404, b'{"Status": "ERROR", "Message": "Not Found"}')
            if page_ms:  # a server that takes time to build each page, as a real one does
                time.sleep(page_ms / 1000)
            self._send(200, pages[number - 1])

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--changed", type=float, default=0.0, help="share of requests edited")
    parser.add_argument("--page-ms", type=float, default=0.0, help="time to build each page")
    options = parser.parse_args()
    pages = build_pages(options.requests, options.page_size, options.changed)
    serve(pages, options.port, options.page_ms)
