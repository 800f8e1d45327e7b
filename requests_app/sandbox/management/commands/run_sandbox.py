"""Serve the impact.com sandbox over HTTP, for tests, benchmarks and anyone's client."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from requests_app.sandbox.server import make_server


class Command(BaseCommand):
    help = "Serve the impact.com sandbox API over HTTP (default 127.0.0.1:8765)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--quiet", action="store_true", help="Do not log each request.")

    def handle(self, *args, host: str, port: int, quiet: bool, **options) -> None:
        server = make_server(host, port, verbose=not quiet)
        sid = settings.IMPACT_SANDBOX_ACCOUNT_SID
        self.stdout.write(
            f"impact.com sandbox on http://{host}:{server.server_port}\n"
            f"  account SID {sid}, auth token from IMPACT_SANDBOX_AUTH_TOKEN\n"
            f"  try: curl -u {sid}:$IMPACT_SANDBOX_AUTH_TOKEN "
            f"'http://{host}:{server.server_port}/Advertisers/{sid}/TrackingValueRequests?State=NEW&PageSize=5'"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
