"""Serve the sandbox over real HTTP: a small threaded WSGI server around `api.handle`."""

from __future__ import annotations

from collections.abc import Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as wsgi_server

from django.db import close_old_connections, connections

from . import api


def application(environ: dict, start_response) -> Iterable[bytes]:
    close_old_connections()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            "Authorization": environ.get("HTTP_AUTHORIZATION", ""),
            "Content-Type": environ.get("CONTENT_TYPE", ""),
        }
        reply = api.handle(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
    finally:
        # Each request runs on its own thread: give its connection back.
        connections.close_all()
    reply.headers["Content-Length"] = str(len(reply.body))
    start_response(f"{reply.status} {reply.reason}", list(reply.headers.items()))
    return [reply.body]


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(host: str = "127.0.0.1", port: int = 8765, *, verbose: bool = False) -> WSGIServer:
    """A server bound to host:port (0 picks a free port); call `serve_forever()` on it."""
    server = wsgi_server(
        host, port, application, server_class=_ThreadedServer, handler_class=_QuietHandler
    )
    server.verbose = verbose
    return server
