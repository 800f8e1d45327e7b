"""Rules: the account's list of them, writing one, its dry run, and turning rules on and off."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from requests_app import rules
from requests_app.forms import RuleForm
from requests_app.models import Decision, RejectionReason, Rule

from .common import account_sid, can, current_account, permission_required, render
from .lists import filter_choices


def account_rules(request: HttpRequest):
    return Rule.objects.filter(account_sid=account_sid(request))


def _names(request: HttpRequest) -> dict[str, dict[int, str]]:
    choices = filter_choices(current_account(request))
    return {kind: dict(pairs) for kind, pairs in choices.items()}


def _form(request: HttpRequest, rule: Rule) -> RuleForm:
    return RuleForm(
        request.POST or None,
        instance=rule,
        choices=filter_choices(current_account(request)),
        reasons=RejectionReason.active_labels(rule.account_sid),
    )


@require_GET
@permission_required("view_rule")
def rule_list(request: HttpRequest) -> HttpResponse:
    """The account's rules in the order they are tried, what each did lately, and the switch
    that stops them all."""
    since = timezone.now() - timedelta(days=30)
    sent = Q(decisions__status=Decision.Status.SENT, decisions__created_at__gte=since)
    found = account_rules(request).annotate(decided=Count("decisions", filter=sent))
    names = _names(request)
    return render(
        request,
        "requests_app/rules.html",
        {
            "rules": [
                (rule, rules.conditions_text(rule, names), rules.action_text(rule))
                for rule in found
            ],
            "account": current_account(request),
            "can_change": can(request, "requests_app.change_rule"),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("change_rule")
def rule_new(request: HttpRequest) -> HttpResponse:
    rule = Rule(
        account_sid=account_sid(request),
        action=Rule.Action.APPROVE,
        code_source=Rule.CodeSource.REQUESTED,
        credit_policy="INVOLVED",
        match_mode="LI",
    )
    form = _form(request, rule)
    if request.method == "POST" and form.is_valid():
        rules.save(form.save(commit=False), by=request.user)
        messages.success(request, "Rule saved. Read its dry run, then enable it.")
        return redirect("requests:rule", rule.pk)
    return _form_page(request, form, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@permission_required("change_rule")
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    form = _form(request, rule)
    if request.method == "POST" and form.is_valid():
        was_enabled = rule.enabled
        rules.save(form.save(commit=False), by=request.user)
        off = " It is off until you enable this version." if was_enabled else ""
        messages.success(request, f"Saved as version {rule.version}.{off} Read its dry run.")
        return redirect("requests:rule", rule.pk)
    return _form_page(request, form, status=400 if form.errors else 200)


def _form_page(request: HttpRequest, form: RuleForm, *, status: int) -> HttpResponse:
    response = render(request, "requests_app/rule_form.html", {"form": form, "rule": form.instance})
    response.status_code = status
    return response


@require_GET
@permission_required("view_rule")
def rule_detail(request: HttpRequest, rule_id: int) -> HttpResponse:
    """The rule, its dry run over the cached history and the open requests now, and its
    latest decisions."""
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    said = rules.dry_run(rule)
    recent = rule.decisions.select_related("request").order_by("-created_at")[:20]
    return render(
        request,
        "requests_app/rule.html",
        {
            "rule": rule,
            "said": said,
            "conditions": rules.conditions_text(rule, _names(request)),
            "action": rules.action_text(rule),
            "recent": recent,
            "can_change": can(request, "requests_app.change_rule"),
            "account": current_account(request),
        },
    )


class EnableForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


@require_POST
@permission_required("change_rule")
def rule_enable(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Enable the version whose dry run the page showed (a separate, audited step)."""
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    form = EnableForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else 0
    if rule.enabled:
        messages.info(request, f"“{rule.name}” is already enabled.")
    elif version != rule.version:
        messages.error(
            request,
            f"“{rule.name}” changed since that dry run (now version {rule.version}). Read this "
            "dry run, then enable it.",
        )
    elif rules.enable(rule, by=request.user, version=version, said=rules.dry_run(rule)):
        when = "now" if rule.acts else "as suggestions"
        messages.success(
            request, f"“{rule.name}” v{rule.version} is enabled: it acts {when} after each sync."
        )
    return redirect("requests:rule", rule.pk)


@require_POST
@permission_required("change_rule")
def rule_disable(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    if rules.disable(rule, by=request.user):
        messages.success(request, f"“{rule.name}” is off.")
    return redirect("requests:rule", rule.pk)


class MoveForm(forms.Form):
    move = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


@require_POST
@permission_required("change_rule")
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    form = MoveForm(request.POST)
    if form.is_valid():
        rules.move(rule, by=request.user, up=form.cleaned_data["move"] == "up")
    else:
        messages.error(request, "Move a rule “up” or “down”; nothing was changed.")
    return redirect("requests:rules")


@require_POST
@permission_required("change_rule")
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(account_rules(request), pk=rule_id)
    if rules.delete(rule, by=request.user):
        messages.success(request, f"Deleted “{rule.name}”.")
        return redirect("requests:rules")
    messages.error(
        request,
        f"“{rule.name}” made or suggested decisions, so it stays (turned off) for them to name it.",
    )
    return redirect("requests:rule", rule.pk)


@require_POST
@permission_required("change_rule")
def rules_stop(request: HttpRequest) -> HttpResponse:
    """The kill switch: every rule of the account stops at once."""
    if rules.stop(account_sid(request), by=request.user):
        messages.success(
            request, "Every rule of this account is stopped; their queued decisions were undone."
        )
    return redirect("requests:rules")


@require_POST
@permission_required("change_rule")
def rules_resume(request: HttpRequest) -> HttpResponse:
    if rules.resume(account_sid(request), by=request.user):
        messages.success(request, "Rules act again from the next sync.")
    return redirect("requests:rules")
