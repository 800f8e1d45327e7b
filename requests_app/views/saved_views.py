"""Saved views: a named set of list filters, saved by anyone, deleted by its owner or an admin."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from requests_app.forms import SavedViewForm
from requests_app.models import SavedView

from .common import account_sid, can, render


@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        can_share = can(request, "requests_app.claim_request")
        SavedView.objects.update_or_create(
            account_sid=account_sid(request),
            owner=request.user,
            name=data["name"],
            defaults={"query": data["query"].lstrip("?"), "shared": data["shared"] and can_share},
        )
        messages.success(request, f"Saved view “{data['name']}”.")
        return redirect(reverse("requests:list", query=QueryDict(data["query"].lstrip("?"))))
    messages.error(request, "Give the view a name (up to 80 characters).")
    return redirect("requests:list")


@require_http_methods(["GET", "POST"])
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """GET asks first (a page, so it works without JavaScript); POST deletes."""
    view = get_object_or_404(SavedView, pk=view_id, account_sid=account_sid(request))
    if view.owner_id != request.user.pk and not can(request, "requests_app.delete_savedview"):
        raise PermissionDenied("Only its owner or an admin can delete a saved view.")
    if request.method == "GET":
        context = {"view": view, "filters": QueryDict(view.query)}
        return render(request, "requests_app/delete_view.html", context)
    view.delete()
    messages.success(request, f"Deleted saved view “{view.name}”.")
    return redirect("requests:list")
