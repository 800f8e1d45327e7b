"""Show times in the viewer's time zone (the browser reports it in a `tz` cookie); refuse NUL;
carry the account in every link."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils import timezone

from requests_app.models import ACCOUNT_SID

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


ACCOUNT_IN_PATH = re.compile(rf"/a/(?P<sid>{ACCOUNT_SID})(?P<rest>/.*)", re.DOTALL)


class AccountInPathMiddleware:
    """Every page is about one account, and its address and links carry it: `/a/<SID>/…`.

    The prefix is taken off before the URL is resolved, so one set of URL patterns serves
    every account, and the account is put into the script prefix Django's `reverse()` starts
    every address with, the way a site mounted under a path (SCRIPT_NAME) is: every
    `{% url %}` and redirect on the page names the same account. An address without the prefix
    opens the account the person last switched to. Who may open which account is decided by
    the views (views/common.current_account), never here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from requests_app.views.common import named_account_sid

        base = request.links_base = get_script_prefix()
        match = ACCOUNT_IN_PATH.fullmatch(request.path_info)
        request.account_in_url = match["sid"] if match else ""
        if match:
            request.path_info = match["rest"]
        try:
            if request.user.is_authenticated:  # signed out: links to sign in name no account
                links_carry(request, named_account_sid(request))
            return self.get_response(request)
        finally:
            set_script_prefix(base)


def links_carry(request: HttpRequest, sid: str) -> None:
    """From here on, the addresses this request writes name account `sid`."""
    set_script_prefix(f"{request.links_base}a/{sid}/")


def links_plain(request: HttpRequest) -> None:
    """From here on, the addresses this request writes name no account (they open the one
    the person last switched to): after signing out, and on a page about an account that is
    not theirs."""
    set_script_prefix(request.links_base)


def address_in(request: HttpRequest, sid: str, name: str, **kwargs: Any) -> str:
    """reverse(name, **kwargs) inside account `sid`: a link from one account to another."""
    current = get_script_prefix()
    links_carry(request, sid)
    try:
        return reverse(name, **kwargs)
    finally:
        set_script_prefix(current)
