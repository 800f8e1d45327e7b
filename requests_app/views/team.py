"""The team page: decisions per reviewer and per rule, time to decide, open requests by age."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from requests_app import reports, sla
from requests_app.forms import GrantForm
from requests_app.models import Grant

from .common import account_sid, can, current_account, render
from .notifications import SlackForm


@require_GET
def team(request: HttpRequest) -> HttpResponse:
    sid = account_sid(request)
    days = 30
    since = timezone.now() - timedelta(days=days)
    stats = reports.reviewer_stats(sid, since=since)
    by_rules = reports.rule_stats(sid, since=since)
    weeks = sla.weekly(sid)
    reviewers_in_time = sla.by_reviewer(sid, since=since)
    ages = reports.open_by_age(sid)
    context = {
        "days": days,
        "stats": stats,
        "decision_bars": reports.bars([(s.name, s.total) for s in stats]),
        "ages": ages,
        "age_bars": reports.bars(ages),
        "median_hours": reports.median_decision_hours(sid, since=since),
        "rule_stats": by_rules,
        "weeks": weeks,
        "week_bars": reports.bars([(w.label, w.percent) for w in weeks], peak=100),
        "reviewers_in_time": reviewers_in_time,
        "reviewer_time_bars": reports.bars(
            [(r.label, r.percent) for r in reviewers_in_time], peak=100
        ),
        "people_total": sum(s.total for s in stats),
        "rules_total": sum(r.total for r in by_rules),
        "members": Grant.objects.filter(account__sid=sid).select_related("user"),
        "account": current_account(request),
        "slack_form": SlackForm(),
        "grant_form": (
            GrantForm(auto_id="id_grant_%s")
            if can(request, "requests_app.change_account")
            else None
        ),
    }
    return render(request, "requests_app/team.html", context)
