"""A fault-injecting impact.com over real HTTP, for tests of the service module and above.

It speaks the documented wire format (Basic auth, the `@`-key paging envelope with a relative
`@nextpageuri`, form-encoded approvals, `{"Status": "OK", "Uri": ...}`), keeps a journal of
every call as impact.com would, and misbehaves on demand, once per queued fault:

- `garbled_2xx`: applies the write, answers 200 with a proxy's HTML page;
- `hang_after_apply` / `hang_before_apply`: applies (or not), then answers nothing for a while;
- `reset_after_apply`: applies, then resets the connection without answering;
- `5xx_after_apply` / `5xx_before_apply`: a 502 page after applying, or a 503 without;
- `queued`: answers `QueuedUri` and applies the write only when `apply_queued()` is called;
- `echo_auth`: (reads too) a 400 whose message echoes the credentials in every encoding;
- `hang`: (reads too) answers nothing for a while.

Listing can also be made hostile: `next_page_override` replaces `@nextpageuri` (an absolute
URL to another host, say) and `total_override` replaces `@total`.

The account's other resources (`CompanyInformation`, `UniqueUrls`, `PhoneNumbers`,
`PromoCodes`) answer what a test puts in `account[name]`: a list of answers served one per call
(the last one again after that), each a JSON-able value, raw bytes, or `(status, body)`, or a
function of the query string that returns one.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

DECIDED = {"PUT": "APPROVED", "DELETE": "DECLINED"}


class ImpactServer:
    def __init__(self, account_sid: str, auth_token: str, *, hang_seconds: float = 3.0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.hang_seconds = hang_seconds
        self.requests: dict[str, dict[str, Any]] = {}
        self.journal: list[tuple[str, str, int | str]] = []
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.queued: list[tuple[str, str]] = []
        self.next_page_override: str | None = None
        self.total_override: str | None = None
        self.account: dict[str, list[Any]] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ImpactServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, payload: dict[str, Any]) -> None:
        self.requests[payload["Id"]] = payload

    def fail_next(self, method: str, *faults: str) -> None:
        """The next calls with this method (GET, PUT, DELETE) misbehave, one fault each."""
        with self.lock:
            self.faults[method].extend(faults)

    def apply_queued(self) -> None:
        with self.lock:
            for method, request_id in self.queued:
                self.requests[request_id]["State"] = DECIDED[method]
            self.queued.clear()

    def writes(self) -> list[tuple[str, str, int | str]]:
        return [entry for entry in self.journal if entry[0] in DECIDED]

    def state(self, request_id: str) -> str:
        return self.requests[request_id]["State"]


def _handler_for(server: ImpactServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        # -- plumbing --

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            with server.lock:
                fault = server.faults[method].pop(0) if server.faults[method] else ""
            expected = base64.b64encode(f"{server.account_sid}:{server.auth_token}".encode())
            if self.headers.get("Authorization", "") != "Basic " + expected.decode():
                return self._answer(method, 401, {"Status": "ERROR", "Message": "Unauthorized"})
            resource = parts.path.removeprefix(f"/Advertisers/{server.account_sid}/")
            if resource in server.account:
                return self._account(method, resource, fault, parts.query)
            prefix = f"/Advertisers/{server.account_sid}/TrackingValueRequests"
            if not parts.path.startswith(prefix):
                return self._answer(method, 404, {"Status": "ERROR", "Message": "Not Found"})
            request_id = parts.path[len(prefix) :].strip("/")
            if fault == "hang":
                return self._hang(method)
            if fault == "echo_auth":
                header = self.headers.get("Authorization", "")
                token = server.auth_token
                echo = f"Denied for {header} ({token}, {quote(token, safe='')}, {header[6:]})"
                return self._answer(method, 400, {"Status": "ERROR", "Message": echo})
            if method == "GET" and not request_id:
                return self._list(parts.query)
            payload = server.requests.get(request_id)
            if payload is None:
                return self._answer(method, 404, {"Status": "ERROR", "Message": "Not Found"})
            if method == "GET":
                return self._answer(method, 200, payload)
            return self._write(method, request_id, payload, fault, body)

        def _write(
            self, method: str, request_id: str, payload: dict, fault: str, body: bytes
        ) -> None:
            if fault == "5xx_before_apply":
                return self._answer(method, 503, b"<html>503 Service Unavailable</html>")
            if fault == "hang_before_apply":
                return self._hang(method)
            if payload["State"] != "NEW":
                message = f"Request is already {payload['State']}"
                return self._answer(method, 400, {"Status": "ERROR", "Message": message})
            if method == "PUT":
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if not (
                    form.get("PromoCode") or form.get("UrlId") or form.get("AssignedPhoneNumberId")
                ):
                    return self._answer(
                        method, 400, {"Status": "ERROR", "Message": "Missing value"}
                    )
            uri = f"/Advertisers/{server.account_sid}/TrackingValueRequests/{request_id}"
            if fault == "queued":
                with server.lock:
                    server.queued.append((method, request_id))
                return self._answer(method, 200, {"Status": "QUEUED", "QueuedUri": uri + "/Queue"})
            with server.lock:
                payload["State"] = DECIDED[method]
            if fault == "garbled_2xx":
                return self._answer(method, 200, b"<html><body>Welcome to our proxy</body></html>")
            if fault == "hang_after_apply":
                return self._hang(method)
            if fault == "reset_after_apply":
                return self._reset(method)
            if fault == "5xx_after_apply":
                return self._answer(method, 502, b"<html>502 Bad Gateway</html>")
            return self._answer(method, 200, {"Status": "OK", "Uri": uri})

        def _list(self, query: str) -> None:
            params = {k: v[0] for k, v in parse_qs(query).items()}
            page = int(params.get("Page", "1"))
            size = int(params.get("PageSize", "1000"))
            items = [
                p for p in server.requests.values() if params.get("State", p["State"]) == p["State"]
            ]
            chunk = items[(page - 1) * size : page * size]
            pages = max(1, -(-len(items) // size))
            path = f"/Advertisers/{server.account_sid}/TrackingValueRequests"
            next_uri = f"{path}?Page={page + 1}&PageSize={size}" if page < pages else ""
            if server.next_page_override is not None and page == 1:
                next_uri = server.next_page_override
            envelope = {
                "@page": str(page),
                "@numpages": str(pages),
                "@pagesize": str(size),
                "@total": server.total_override or str(len(items)),
                "@nextpageuri": next_uri,
                "TrackingValueRequests": chunk,
            }
            self._answer("GET", 200, envelope)

        def _account(self, method: str, resource: str, fault: str, query: str) -> None:
            if fault == "hang":
                return self._hang(method)
            with server.lock:
                answers = server.account[resource]
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if callable(answer):
                answer = answer(query)
            status, body = answer if isinstance(answer, tuple) else (200, answer)
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            self._answer(method, status, body, kind="application/json")

        def _answer(self, method: str, status: int, body: dict | bytes, kind: str = "") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            kind = kind or ("text/html" if isinstance(body, bytes) else "application/json")
            server.journal.append((method, self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _hang(self, method: str) -> None:
            server.journal.append((method, self.path, "hung"))
            time.sleep(server.hang_seconds)
            self.close_connection = True

        def _reset(self, method: str) -> None:
            server.journal.append((method, self.path, "reset"))
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

    return Handler


class Listener:
    """Another host's server: records what reaches it (the Authorization header above all)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                listener.seen.append(dict(self.headers))
                data = json.dumps({"@total": "0", "TrackingValueRequests": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
