"""The request list (htmx-filtered, keyset-paged) and the sync controls."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, F, FilteredRelation, Max, Min, Q
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from requests_app import presenters, queues, sync, triage
from requests_app.forms import (
    SORTS,
    STATE_TABS,
    BulkRejectForm,
    FilterForm,
    SavedViewForm,
    filtered,
)
from requests_app.models import Account, Decision, SavedView, SyncRun, TrackingValueRequest
from requests_app.paging import keyset_page

from .common import (
    account_sid,
    account_with_sync,
    can,
    current_account,
    permission_required,
    render,
)

PAGE_SIZE = 50

# What each state tab holds, in impact.com's terms, said under the tabs.
STATE_HELP = {
    "NEW": "waiting for a decision",
    "APPROVED": "approved, and impact.com has not finished assigning the value to the partner yet",
    "COMPLETED": "approved, and impact.com has assigned the value: it is live for the partner",
    "DECLINED": "rejected: the partner was told no",
    "all": "",
}


def filter_choices(account: Account) -> dict[str, list]:
    """Campaign, partner and deal choices from the cache, recomputed when a sync writes rows."""
    rows = TrackingValueRequest.objects.for_account(account.sid)

    def choices(column: str, label_column: str) -> list:
        pairs = (
            rows.filter(**{f"{column}__isnull": False}).values_list(column, label_column).distinct()
        )
        return sorted(
            {(i, label or str(i)) for i, label in pairs}, key=lambda c: str(c[1]).casefold()
        )

    def deals() -> list:
        """Deals with the same name told apart by their dates and id."""
        found = choices("deal_id", "deal_name")
        names = Counter(label for _, label in found)
        twins = [i for i, label in found if names[label] > 1]
        spans = {
            row["deal_id"]: (row["start"], row["end"])
            for row in rows.filter(deal_id__in=twins)
            .order_by()
            .values("deal_id")
            .annotate(start=Min(KT("payload__DealStartDate")), end=Max(KT("payload__DealEndDate")))
        }
        return [
            (i, f"{label} · {_span(*spans.get(i, ('', '')))}#{i}" if names[label] > 1 else label)
            for i, label in found
        ]

    return account.cached(
        "choices",
        lambda: {
            "campaign": choices("campaign_id", "campaign_name"),
            "partner": choices("media_partner_id", "media_partner_name"),
            "deal": deals(),
        },
        follows="rows",  # a claim or a decision changes none of them
    )


def _span(start: str | None, end: str | None) -> str:
    """The dates of a deal ('Oct 13, 2026 to Dec 4, 2026'), from its ISO dates, or ''."""

    def day(value: str | None) -> str:
        try:
            moment = datetime.fromisoformat(value or "")
        except ValueError:
            return ""
        return f"{moment:%b} {moment.day}, {moment.year}"

    first, last = day(start), day(end)
    if not first and not last:
        return ""
    return f"{first or '…'} to {last or 'open-ended'} · "


# What a list row shows and its marks need (the cursor: pk and the sort columns), as named
# tuples: not the payload, which is most of a row's bytes, and no model instances (building 51
# of them with the other columns deferred: 42.1 M to 35.4 M instructions an htmx page).
LIST_COLUMNS = (
    "pk", "impact_id", "media_partner_name", "campaign_name", "request_type",
    "number_requested", "deal_name", "state", "is_gone", "date_placed", "date_needed",
    "sla_due_at", "assigned_to__username", "live_action", "live_status",
)  # fmt: skip


def tab_counts(account: Account, rows, values: dict, user) -> dict[str, int]:
    """Each state tab's count under the filters (the sort does not change them). Everyone
    looking at the same filters shares them; only "my queue" depends on who looks."""
    shown = sorted((k, v) for k, v in values.items() if k != "sort")
    who = f"{user.pk}:" if values.get("queue") == "mine" else ""
    return account.cached(
        "tabs",
        lambda: filtered(rows, values, user).aggregate(
            all=Count("state"),
            **{code: Count("state", filter=Q(state=code)) for code, _ in STATE_TABS[:4]},
        ),
        vary=who + hashlib.sha256(repr(shown).encode()).hexdigest()[:24],
    )


@require_GET
@never_cache  # Back after a decision shows the list as it is now, decided rows included
def request_list(request: HttpRequest) -> HttpResponse:
    sid = account_sid(request)
    htmx = request.htmx and not request.htmx.history_restore_request
    account = current_account(request)
    # A stale cache refreshes itself in the background when someone looks at it.
    stale = not htmx and not account.syncing and sync.due_kind(account)
    if stale and sync.refresh_if_stale(sid):
        account.syncing = True
    form = FilterForm(request.GET, choices=filter_choices(account))
    values = form.filters()
    rows = TrackingValueRequest.objects.for_account(sid).live()
    counts = tab_counts(account, rows, {**values, "state": "all", "queue": ""}, request.user)
    _, column, descending = SORTS[form.active_sort]
    # With each row, its decision on the way if there is one (one per request: a constraint).
    listed = (
        filtered(rows, values, request.user)
        .alias(live=FilteredRelation("decisions", condition=Q(decisions__status__in=Decision.LIVE)))
        .annotate(live_action=F("live__action"), live_status=F("live__status"))
        .values_list(*LIST_COLUMNS, named=True)
    )
    page = keyset_page(
        listed,
        column,
        descending=descending,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    everything = values.get("state") == "all" and not values.get("queue")
    queue = values.get("queue") or ""
    if queue:  # the tabs count states; a queue's own count also follows the other filters
        shown = tab_counts(account, rows, {**values, "state": "all"}, request.user)["all"]
    else:
        shown = counts["all" if everything else form.active_state]
    # The detail page's links carry this list, to come back to it and move on in it.
    opened_from = QueryDict(mutable=True)
    if list_query := triage.list_filters(request.GET.urlencode()).urlencode():
        opened_from["list"] = list_query
    context = {
        "shown_total": shown,
        "queue_label": dict(queues.QUEUES).get(queue, ""),
        "opened_from": opened_from,
        "form": form,
        # The filter bar is cached per account rows version and these values (the raw ones:
        # what its widgets show), not re-rendered with its hundreds of options every time.
        "chosen": [form.data.get(name, "") for name in FilterForm.BAR],
        "page": page,
        "rows": presenters.request_rows(
            page.rows,
            now=timezone.now(),
            zone=timezone.get_current_timezone(),
            soon=timedelta(days=settings.TVR_DUE_SOON_DAYS),
            warn=timedelta(hours=settings.TVR_SLA_WARN_HOURS),
        ),
        "tabs": [(code, label, counts[code], STATE_HELP[code]) for code, label in STATE_TABS],
        "active_state": "all" if everything else form.active_state,
        "active_state_label": dict(STATE_TABS)["all" if everything else form.active_state],
        "active_state_help": STATE_HELP["all" if everything else form.active_state],
        "has_other_filters": any(
            values.get(k) for k in values if k not in ("state", "sort", "queue")
        ),
        "delay": settings.TVR_DECISION_DELAY_SECONDS,
        "active_queue": values.get("queue") or "",
        "total": counts["all"] if everything else None,
        "account": account,
        "has_filters": any(values.get(k) for k in values if k not in ("state", "sort")),
        "can_decide": can(request, "requests_app.decide_request"),
        "bulk_form": BulkRejectForm(auto_id="id_bulk_%s", label_suffix=""),
        "save_form": SavedViewForm(
            initial={"query": request.GET.urlencode()}, auto_id="id_view_%s"
        ),
    }
    return render(request, "requests_app/list.html", context, partial="results")


@require_GET
def saved_views(request: HttpRequest) -> HttpResponse:
    """The user's and the team's saved views (loaded after the list, to keep the list lean)."""
    views = (
        SavedView.objects.filter(account_sid=account_sid(request))
        .filter(Q(owner=request.user) | Q(shared=True))
        .select_related("owner")
    )
    # Each view's filters as a mapping: its link is built by {% querystring %}, not pasted.
    saved = [(view, QueryDict(view.query)) for view in views]
    return render(request, "requests_app/saved_views.html", {"saved_views": saved}, partial="views")


@require_POST
@permission_required("run_sync")
def start_sync(request: HttpRequest) -> HttpResponse:
    sid = account_sid(request)
    kind = SyncRun.Kind.OPEN if request.POST.get("kind") == "open" else SyncRun.Kind.FULL
    try:
        sync.start_in_background(sid, kind, user=request.user)
    except sync.SyncAlreadyRunning:
        messages.info(request, "A sync is already running; its progress is shown below.")
    if request.htmx:
        return _sync_status(request)
    return redirect("requests:list")


@require_GET
def sync_status(request: HttpRequest) -> HttpResponse:
    """The progress bar (polled while a sync runs) or the 'synced N minutes ago' line."""
    return _sync_status(request)


def _sync_status(request: HttpRequest) -> HttpResponse:
    sid = account_sid(request)
    account = request.tvr_account = account_with_sync(sid)  # as it is now, after any start
    run = SyncRun.objects.filter(account_sid=sid).exclude(kind=SyncRun.Kind.ONE).first()
    response = render(
        request,
        "requests_app/list.html",
        {"account": account, "run": run, "status_only": True},
        partial="sync_status",
    )
    was_running = request.GET.get("was") == "running"
    if was_running and not account.syncing:
        # The sync just finished: let the list refresh itself.
        trigger_client_event(response, "tvr:synced")
    return response
