"""Show times in the viewer's time zone (the browser reports it in a `tz` cookie); refuse NUL."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone

_KNOWN = frozenset(available_timezones())


def viewer_zone_name(request: HttpRequest) -> str:
    """The IANA zone the browser reported (`tz=America%2FNew_York`, URL-encoded as the page
    writes it), or "" when it said nothing we know."""
    name = unquote(request.COOKIES.get("tz", ""))
    return name if name in _KNOWN else ""


class ViewerTimezoneMiddleware:
    """Activate the browser's zone for the request; the TVR_TIME_ZONE default otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.viewer_zone = viewer_zone_name(request)
        if name:
            try:
                timezone.activate(ZoneInfo(name))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class RefuseNulMiddleware:
    """400 for a NUL character in the path, query, form body or cookies: PostgreSQL refuses
    NUL in text, and Django's forms refuse it only in the fields they clean."""

    # Once for all views, not per form: path args and values read outside forms skip that check.
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _carries_nul(request):
            return HttpResponseBadRequest(
                "The request contains a NUL character.", content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _carries_nul(request: HttpRequest) -> bool:
    texts = [request.path, *request.COOKIES.keys(), *request.COOKIES.values()]
    sources = [request.GET]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            texts.append(key)
            texts.extend(values)
    return any("\x00" in text for text in texts)
