"""The approve forms' picker search: the account's branded URLs or phone numbers matching the
words typed, as buttons that fill the id field (see pickers.py). Reads the cache only."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from requests_app import pickers

from .common import account_sid, permission_required


class PickerSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    target = forms.RegexField(regex=r"^id_[a-z_]{1,40}$", required=False)


@require_GET
@permission_required("decide_request")
def picker_options(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in pickers.NOUNS:
        raise Http404("No such picker.")
    form = PickerSearchForm(request.GET)
    form.is_valid()
    query = form.cleaned_data.get("q", "") if "q" not in form.errors else ""
    # A search it cannot run says why, rather than listing every value as if it had matched.
    error = form.errors["q"][0] if "q" in form.errors else ""
    target = form.cleaned_data.get("target") or f"id_{pickers.FIELDS[kind]}"
    response = TemplateResponse(
        request,
        "requests_app/widgets/tracking_value_options.html",
        {
            "options": [] if error else pickers.options(account_sid(request), kind, query),
            "search_error": error,
            "target": target,
            "noun": pickers.NOUNS[kind],
            "query": query,
        },
    )
    patch_vary_headers(response, ("HX-Request",))
    return response
