"""`python -m bench.instructions URL...`: CPU instructions per page, as callgrind counts them.

Wall time on a shared machine moves with everyone else's load; an instruction count does not,
so this is the figure to compare two versions of a page by. Each URL is requested a few times
to warm the caches, then `--count` more times inside valgrind's callgrind with collection on
only during those requests (toggled on `itertools.starmap`'s step, which runs them), and the
count is divided by `--count`. `--no-row-cache` draws the pages from copies of list.html and
audit.html without their `{% cache %}` of the rows, to see what that cache saves. Reads the
bench's data (`python -m bench pages` seeds it) at --size requests, on DATABASE_URL.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from itertools import starmap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW_CACHE = re.compile(r"{% cache \d+ (?:list|audit)_rows [^%]*%}(.*?){% endcache %}", re.S)


def _child(options: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvr_dashboard.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client, override_settings

    from bench.pages import SIDS

    overrides = {
        "IMPACT_SANDBOX_ACCOUNT_SID": SIDS[options.size],
        "STORAGES": {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    }
    if options.no_row_cache:
        copies = Path(tempfile.mkdtemp()) / "requests_app"
        copies.mkdir()
        for name in ("list.html", "audit.html"):
            text = (ROOT / "templates" / "requests_app" / name).read_text()
            (copies / name).write_text(ROW_CACHE.sub(r"\1", text))
        templates = [dict(settings.TEMPLATES[0])]
        templates[0]["DIRS"] = [copies.parent, *templates[0]["DIRS"]]
        overrides["TEMPLATES"] = templates
    with override_settings(**overrides):
        client = Client(HTTP_HOST="localhost")
        client.force_login(User.objects.get(username="bench-admin"))
        headers = {"HTTP_HX_REQUEST": "true"} if options.htmx else {}
        for _ in range(3):
            assert client.get(options.urls[0], **headers).status_code == 200
        list(starmap(lambda: client.get(options.urls[0], **headers), [()] * options.count))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--size", type=int, default=100_000, choices=(10_000, 100_000))
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--htmx", action="store_true")
    parser.add_argument("--no-row-cache", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        _child(options)
        return
    for url in options.urls:
        flags = [f"--size={options.size}", f"--count={options.count}"]
        flags += ["--htmx"] * options.htmx + ["--no-row-cache"] * options.no_row_cache
        done = subprocess.run(
            [
                *("valgrind", "--tool=callgrind", "--collect-atstart=no"),
                *("--toggle-collect=starmap_next", "--callgrind-out-file=/dev/null"),
                *(sys.executable, "-m", "bench.instructions", "--child", *flags, url),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or not found:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"callgrind failed for {url}")
        per_page = int(found.group(1)) / options.count
        what = (
            " ".join(["htmx"] * options.htmx + ["no row cache"] * options.no_row_cache)
            or "full page"
        )
        print(f"{url:60} {what:20} {per_page / 1e6:8.1f} M instructions", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
