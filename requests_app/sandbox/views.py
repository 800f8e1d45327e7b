"""The sandbox API mounted in the dashboard itself (sandbox mode only), for curl and clients."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import api


@csrf_exempt
@login_not_required
def endpoint(request: HttpRequest, path: str) -> HttpResponse:
    headers = {"Authorization": request.headers.get("Authorization", "")}
    headers["Content-Type"] = request.content_type or ""
    reply = api.handle(
        request.method, request.path, request.META.get("QUERY_STRING", ""), headers, request.body
    )
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers.items():
        response[name] = value
    return response
