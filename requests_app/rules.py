"""Rules: an account's standing decisions, proved on its history before they act.

A rule is a set of conditions on a request (type, campaign, partner, partner group, deal,
number requested, a pattern for the requested code, a quota of approvals per partner per
campaign) and an action: approve with set values, reject with a reason, or only suggest one of
those to the reviewer. The account's rules are tried in order; the first whose conditions all
hold wins (a rule whose quota is used up does not hold, so the next one is tried).

One planner (`plan`) says what the rules do to the account's open requests; the dry run shows
its answer for a rule before it is enabled, and acting (`run`, after each sync) carries out the
same answer. A rule decides through decisions.py, exactly as a person does: one live decision
per request, the Undo window, the outcome settled to impact.com's truth, and an audit event
that names the rule and its version as the actor. A rule never decides a request a person
holds or that already has a live decision, nor one a rule already tried and impact.com
refused. Inside each claim's transaction, with the account row locked, the guard re-checks the
kill switch, the rule's version and its quota, so two runs at once never pass a quota and a
stop takes effect before the next claim. A streak of impact.com refusals stops every rule of
the account, and its admins are told.
"""

from __future__ import annotations

import bisect
import json
import logging
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from requests_app import audit, decisions, impact, patterns, queues
from requests_app.models import (
    Account,
    AuditEvent,
    Decision,
    Grant,
    RequestType,
    Rule,
    State,
    TrackingValue,
    TrackingValueRequest,
)

logger = logging.getLogger(__name__)

APPROVED_STATES = (State.APPROVED, State.COMPLETED)
DECIDED_STATES = (State.APPROVED, State.COMPLETED, State.DECLINED)
# Time one code's pattern match may take; a pattern that runs out does not match.
MATCH_SECONDS = 0.05
SAMPLE_SIZE = 10
DISAGREEMENTS_SHOWN = 500

# Why a rule that matched an open request leaves it to a person (the dry run counts each).
HELD = "held by a person"
LIVE = "already has a decision"
TRIED = "a rule's attempt was refused before"
UNDONE = "a rule's decision on it was taken back"
NO_CODE = "has no code to give"
CODE_TAKEN = "its code is held by another partner"


class Stop(decisions.RuleStopped):
    """The guard's refusal, inside the claim's transaction: nothing was claimed."""


# --- what a rule looks at ---------------------------------------------------------------------


@dataclass(slots=True)
class Facts:
    """One cached request as the rules see it: its columns, and from its payload the deal's
    default code and the partner groups the deal is restricted to."""

    pk: int
    impact_id: str
    state: str
    request_type: str
    campaign_id: int | None
    campaign_name: str
    media_partner_id: int | None
    media_partner_name: str
    deal_id: int | None
    deal_name: str
    deal_state: str
    deal_type: str
    number_requested: int | None
    requested_value: str
    approved_value: str
    date_placed: datetime | None
    date_completed: datetime | None
    default_code: str = ""
    groups: tuple[str, ...] = ()
    deal_end: datetime | None = None
    blocked: str = ""  # why a rule may not decide it now (with_blocks), if it was asked
    by_rule: bool = False  # a rule decided it (the dry run's history), if it was asked

    @property
    def decided(self) -> bool:
        return self.state in DECIDED_STATES

    @property
    def approved(self) -> bool:
        return self.state in APPROVED_STATES


FROM_PAYLOAD = {"default_code", "groups", "deal_end", "blocked", "by_rule"}
COLUMNS = tuple(name for name in Facts.__dataclass_fields__ if name not in FROM_PAYLOAD)


# The payload keys Facts can carry, read only when a rule looks at them: reading a key means
# reading the whole stored payload of every row (most of the dry run's time otherwise).
PAYLOAD_KEYS = {
    "default_code": "payload__DealDefaultPromoCode",
    "groups": "payload__DealRestrictedMediaPartnerGroups",
    "deal_end": "payload__DealEndDate",
}


def payload_keys(rules: Iterable[Rule], *, approving: bool = True) -> set[str]:
    """What of the payload these rules look at: the deal's default code, its partner groups,
    and (when they approve, and `approving`) its end date, not to send an expired deal."""
    keys = set()
    for rule in rules:
        if rule.partner_group:
            keys.add("groups")
        if rule.action == Rule.Action.APPROVE and rule.code_source == Rule.CodeSource.DEAL_DEFAULT:
            keys.add("default_code")
        if approving and rule.action == Rule.Action.APPROVE:
            keys.add("deal_end")
    return keys


def facts_of(
    rows: QuerySet[TrackingValueRequest],
    *,
    keys: set[str] = frozenset(PAYLOAD_KEYS),
    blocks: bool = False,
    by_rule: bool = False,
) -> Iterator[Facts]:
    """The rows' facts, read in one pass with only the columns and the payload `keys` they
    need; with `blocks`, why a rule may not decide each (see with_blocks); with `by_rule`, the
    rows' own `by_rule` annotation."""
    fields = [*COLUMNS, *keys]
    if blocks:
        rows, fields = with_blocks(rows), [*fields, "blocked"]
    if by_rule:
        fields.append("by_rule")
    # Only a request with a deal has a deal's keys: the others' payloads are not read.
    with_deal = {key: Case(When(deal_id__isnull=False, then=KT(PAYLOAD_KEYS[key]))) for key in keys}
    values = rows.annotate(**with_deal).values(*fields)
    for row in values.iterator(chunk_size=10_000):
        if "groups" in row:
            row["groups"] = _groups(row["groups"])
        if "deal_end" in row:
            row["deal_end"] = _date(row["deal_end"])
        if "default_code" in row:
            row["default_code"] = row["default_code"] or ""
        yield Facts(**row)


def facts_of_request(tvr: TrackingValueRequest) -> Facts:
    payload = tvr.payload or {}
    return Facts(
        **{name: getattr(tvr, name) for name in COLUMNS},
        default_code=str(payload.get("DealDefaultPromoCode") or ""),
        groups=_groups(payload.get("DealRestrictedMediaPartnerGroups")),
        deal_end=_date(payload.get("DealEndDate")),
    )


def _date(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        return None


def _groups(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    if not isinstance(raw, list):
        return ()
    return tuple(str(name).strip().casefold() for name in raw if isinstance(name, str | int))


class Matcher:
    """One rule's conditions, as SQL for what the database can tell and Python for the rest
    (the code pattern, the partner groups)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.pattern = None
        if rule.code_pattern and not patterns.compile_error(rule.code_pattern):
            self.pattern = patterns.compiled(rule.code_pattern)
        self.group = rule.partner_group.strip().casefold()

    def q(self) -> Q:
        rule, q = self.rule, Q()
        if rule.request_type:
            q &= Q(request_type=rule.request_type)
        if rule.campaign_ids:
            q &= Q(campaign_id__in=rule.campaign_ids)
        if rule.partner_ids:
            q &= Q(media_partner_id__in=rule.partner_ids)
        if rule.deal == Rule.Deal.NONE:
            q &= Q(deal_id__isnull=True)
        elif rule.deal == Rule.Deal.ANY:
            q &= Q(deal_id__isnull=False)
        elif rule.deal == Rule.Deal.GIVEN:
            q &= Q(deal_id=rule.deal_id)
        if rule.deal_state:
            q &= Q(deal_state=rule.deal_state)
        if rule.deal_type:
            q &= Q(deal_type=rule.deal_type)
        if rule.min_number is not None:
            q &= Q(number_requested__gte=rule.min_number)
        if rule.max_number is not None:
            q &= Q(number_requested__lte=rule.max_number)
        if rule.code_pattern:
            q &= ~Q(requested_value="")
        return q

    def holds(self, facts: Facts) -> bool:
        """Every condition but the quota (see Quotas), checked in Python as well, so a rule
        judged here matches exactly what its SQL selected and nothing else."""
        rule = self.rule
        checks = (
            not rule.request_type or facts.request_type == rule.request_type,
            not rule.campaign_ids or facts.campaign_id in rule.campaign_ids,
            not rule.partner_ids or facts.media_partner_id in rule.partner_ids,
            rule.deal != Rule.Deal.NONE or facts.deal_id is None,
            rule.deal != Rule.Deal.ANY or facts.deal_id is not None,
            rule.deal != Rule.Deal.GIVEN or facts.deal_id == rule.deal_id,
            not rule.deal_state or facts.deal_state == rule.deal_state,
            not rule.deal_type or facts.deal_type == rule.deal_type,
            rule.min_number is None
            or (facts.number_requested is not None and facts.number_requested >= rule.min_number),
            rule.max_number is None
            or (facts.number_requested is not None and facts.number_requested <= rule.max_number),
            not self.group or self.group in facts.groups,
        )
        return all(checks) and self._code_matches(facts)

    def _code_matches(self, facts: Facts) -> bool:
        if not self.rule.code_pattern:
            return True
        if self.pattern is None or not facts.requested_value:
            return False  # a pattern that cannot be checked matches nothing
        try:
            deadline = patterns.Deadline(MATCH_SECONDS)
            return patterns.fullmatch(self.pattern, facts.requested_value, deadline)
        except patterns.TooSlow:
            return False


def code_to_approve(rule: Rule, facts: Facts) -> str:
    """The promo code an approving rule sends for this request ("" when there is none)."""
    if rule.code_source == Rule.CodeSource.DEAL_DEFAULT:
        return facts.default_code.strip()
    return facts.requested_value.strip()


# --- quotas -----------------------------------------------------------------------------------


class Quotas:
    """Approvals per partner per campaign in a period: counted once per pair and period from
    the cache (impact.com's approvals and live approve decisions made here), plus the
    approvals a plan has made so far (each counts in every period)."""

    def __init__(self, account_sid: str, now: datetime) -> None:
        self.account_sid = account_sid
        self.now = now
        self.counted: dict[tuple[int | None, int | None, int], int] = {}
        self.planned: Counter = Counter()

    def room(self, rule: Rule, facts: Facts) -> bool:
        if rule.quota is None or rule.action != Rule.Action.APPROVE:
            return True
        days = Rule.PERIOD_DAYS[rule.quota_period]
        pair = (facts.media_partner_id, facts.campaign_id)
        if (*pair, days) not in self.counted:
            since = self.now - timedelta(days=days)
            self.counted[(*pair, days)] = approvals_since(self.account_sid, *pair, since)
        return self.counted[(*pair, days)] + self.planned[pair] < rule.quota

    def take(self, facts: Facts) -> None:
        self.planned[(facts.media_partner_id, facts.campaign_id)] += 1


def approvals_since(
    account_sid: str, partner_id: int | None, campaign_id: int | None, since: datetime
) -> int:
    """The partner's approvals on the campaign since `since`: approved in impact.com then,
    or with a live approve decision made here then (one request counts once)."""
    live_approval = Decision.objects.filter(
        request=OuterRef("pk"),
        status__in=Decision.LIVE,
        action=Decision.Action.APPROVE,
        created_at__gte=since,
    )
    return (
        TrackingValueRequest.objects.for_account(account_sid)
        .filter(media_partner_id=partner_id, campaign_id=campaign_id)
        .filter(Q(state__in=APPROVED_STATES, date_completed__gte=since) | Exists(live_approval))
        .count()
    )


class HistoricQuota:
    """For the dry run over history: a rule's quota as it stood when each request was placed,
    from the approvals the cache records (one query for every pair the rule matched)."""

    def __init__(self, rule: Rule, account_sid: str, matched: list[Facts]) -> None:
        self.rule = rule
        self.times: dict[tuple[int | None, int | None], list[datetime]] = defaultdict(list)
        if rule.quota is None or rule.action != Rule.Action.APPROVE or not matched:
            return
        partners = {f.media_partner_id for f in matched if f.media_partner_id is not None}
        approved = (
            TrackingValueRequest.objects.for_account(account_sid)
            .filter(
                state__in=APPROVED_STATES,
                date_completed__isnull=False,
                media_partner_id__in=partners,
            )
            .values_list("media_partner_id", "campaign_id", "date_completed")
        )
        for partner, campaign, completed in approved.iterator(chunk_size=5000):
            self.times[(partner, campaign)].append(completed)
        for times in self.times.values():
            times.sort()

    def room(self, facts: Facts) -> bool:
        rule = self.rule
        if rule.quota is None or rule.action != Rule.Action.APPROVE or not facts.date_placed:
            return True
        times = self.times.get((facts.media_partner_id, facts.campaign_id), [])
        since = facts.date_placed - timedelta(days=Rule.PERIOD_DAYS[rule.quota_period])
        used = bisect.bisect_left(times, facts.date_placed) - bisect.bisect_left(times, since)
        return used < rule.quota


# --- the plan: what the rules do to the open requests now --------------------------------------


@dataclass(frozen=True)
class Step:
    """What the winning rule does to one open request: `outcome` is approve, reject or
    suggest, or why it leaves the request to a person (`left`)."""

    facts: Facts
    rule: Rule
    outcome: str = ""
    left: str = ""
    approval: impact.Approval | None = None

    @property
    def acts(self) -> bool:
        return bool(self.outcome) and self.outcome != "suggest"


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)


def enabled_rules(account_sid: str) -> list[Rule]:
    return list(Rule.objects.filter(account_sid=account_sid, enabled=True))


def with_candidate(rules: Iterable[Rule], candidate: Rule) -> list[Rule]:
    """The enabled rules with `candidate` in its place (as if it were enabled), in order."""
    others = [rule for rule in rules if rule.pk != candidate.pk]
    return sorted([*others, candidate], key=lambda rule: (rule.position, rule.pk or 0))


def plan(account_sid: str, rules: list[Rule], *, now: datetime | None = None) -> Plan:
    """For each open request of the account (oldest placed first) that some rule matches:
    the first such rule, and what it does. The dry run shows this; `run` carries it out."""
    now = now or timezone.now()
    found = Plan()
    if not rules:
        return found
    matchers = [Matcher(rule) for rule in rules]
    rows = TrackingValueRequest.objects.open().for_account(account_sid)
    rows = rows.order_by("date_placed", "pk")
    conditions = [matcher.q() for matcher in matchers]
    if all(conditions):  # a rule without SQL conditions looks at every open request
        rows = rows.filter(reduce(operator.or_, conditions))
    quotas = Quotas(account_sid, now)
    facts = list(facts_of(rows, keys=payload_keys(rules), blocks=True))
    holders = _code_holders(account_sid) if _approves_codes(rules) else defaultdict(set)
    for each in facts:
        for matcher in matchers:
            rule = matcher.rule
            if matcher.holds(each) and quotas.room(rule, each):
                step = _step(rule, each, holders, now)
                if step.outcome == "approve":
                    quotas.take(each)
                    if step.approval.promo_code:  # the next partner asking for it is refused
                        holders[step.approval.promo_code.casefold()].add(each.media_partner_id)
                found.steps.append(step)
                break
    return found


def with_blocks(rows: QuerySet[TrackingValueRequest]) -> QuerySet[TrackingValueRequest]:
    """The rows with why a rule may not decide each (`blocked`, read by facts_of): held, a
    live decision, a rule's attempt impact.com refused, or a rule's decision someone took back
    (Undo, or the kill switch): a rule does not try those again; a person may. In the same
    query as the rows."""
    live = Decision.objects.filter(request=OuterRef("pk"), status__in=Decision.LIVE)
    by_rule = Decision.objects.filter(request=OuterRef("pk"), rule__isnull=False)
    tried = by_rule.filter(status=Decision.Status.FAILED)
    undone = by_rule.filter(status=Decision.Status.UNDONE)
    return rows.annotate(
        blocked=Case(
            When(Exists(live), then=Value(LIVE)),
            When(assigned_to__isnull=False, then=Value(HELD)),
            When(Exists(tried), then=Value(TRIED)),
            When(Exists(undone), then=Value(UNDONE)),
            default=Value(""),
            output_field=CharField(),
        )
    )


def _step(rule: Rule, facts: Facts, holders: dict[str, set], now: datetime) -> Step:
    outcome = rule.action if rule.acts else "suggest"
    if facts.blocked and rule.acts:
        return Step(facts, rule, left=facts.blocked)
    approval = None
    if rule.action == Rule.Action.APPROVE:
        approval = approval_for(rule, facts, now=now)
        if approval is None:
            return Step(facts, rule, left=NO_CODE)
        if approval.promo_code and holders.get(approval.promo_code.casefold(), set()) - {
            facts.media_partner_id
        }:
            return Step(facts, rule, left=CODE_TAKEN)
        if approval.match_mode == "RE" and _expression_takes_codes(facts, approval.promo_code):
            return Step(facts, rule, left=CODE_TAKEN)
    return Step(facts, rule, outcome=outcome, approval=approval)


def _expression_takes_codes(facts: Facts, expression: str) -> bool:
    """Whether an RE code would match, whole, a code another partner holds (in the cache or
    the account's list of codes), as the approve form checks it; too slow to tell counts as
    yes."""
    from requests_app import forms, tracking_values  # forms imports this module's models

    tvr = TrackingValueRequest.objects.get(pk=facts.pk)
    deadline = patterns.Deadline(forms.TEST_SECONDS)
    try:
        return bool(
            forms.code_taken_elsewhere(tvr, expression, "RE", deadline=deadline)
            or tracking_values.codes_held_elsewhere(
                tvr.account_sid, tvr.media_partner_id, expression, "RE", deadline=deadline
            )
        )
    except patterns.TooSlow:
        return True


def _approves_codes(rules: list[Rule]) -> bool:
    return any(
        rule.action == Rule.Action.APPROVE
        and rule.request_type in ("", RequestType.PROMOCODE_TRACKING)
        for rule in rules
    )


def _code_holders(account_sid: str) -> dict[str, set[int | None]]:
    """Casefolded code -> the partners holding it: approved in the cache or in the account's
    own list of promo codes (impact.com refuses a code another partner holds). Two queries
    of two columns each, whatever the number of requests planned."""
    holders: dict[str, set[int | None]] = defaultdict(set)
    approved = (
        TrackingValueRequest.objects.filter(
            account_sid=account_sid,
            request_type=RequestType.PROMOCODE_TRACKING,
            state__in=APPROVED_STATES,
        )
        .exclude(approved_value="")
        .values_list("approved_value", "media_partner_id")
    )
    listed = (
        TrackingValue.objects.filter(
            account_sid=account_sid, kind=TrackingValue.Kind.CODE, is_gone=False
        )
        .exclude(state="INACTIVE")
        .exclude(value="")
        .values_list("value", "partner_id")
    )
    for rows in (approved, listed):
        for value, partner in rows.iterator(chunk_size=10_000):
            holders[value.casefold()].add(partner)
    return holders


def approval_for(rule: Rule, facts: Facts, *, now: datetime) -> impact.Approval | None:
    """What an approving rule sends for this request: its type's values from the rule, and
    the request's deal unless it has expired (as the approve form offers it)."""
    deal_id, deal_name = facts.deal_id, facts.deal_name
    expired = facts.deal_state == "EXPIRED" or (facts.deal_end is not None and facts.deal_end < now)
    if deal_id is not None and expired:
        deal_id, deal_name = None, ""
    common = {"deal_id": deal_id, "deal_name": deal_name}
    if facts.request_type == RequestType.PROMOCODE_TRACKING:
        code = code_to_approve(rule, facts)
        if not code or len(code) > patterns.MAX_PATTERN_LENGTH:
            return None
        if any(ch in code for ch in "\r\n\t\x00"):
            return None
        if rule.match_mode == "RE" and (
            rule.code_source != Rule.CodeSource.DEAL_DEFAULT or patterns.compile_error(code)
        ):
            return None  # a partner's own text is never sent as an expression
        return impact.Approval(
            facts.request_type,
            promo_code=code,
            credit_policy=rule.credit_policy or "INVOLVED",
            match_mode=rule.match_mode or "LI",
            **common,
        )
    if facts.request_type == RequestType.BRANDED_URL_TRACKING and rule.url_id:
        return impact.Approval(facts.request_type, url_id=rule.url_id, **common)
    if facts.request_type == RequestType.PHONE_NUMBER_TRACKING and rule.phone_number_id:
        return impact.Approval(
            facts.request_type, assigned_phone_number_id=rule.phone_number_id, **common
        )
    return None


# --- the dry run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    facts: Facts
    rule_says: str
    person_did: str


@dataclass
class DryRun:
    """What a rule would have done over the cached history, and what it would do now."""

    rule: Rule
    matched: int = 0
    matched_by_state: Counter = field(default_factory=Counter)
    sample: list[Facts] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    disagreements_total: int = 0
    over_quota: int = 0
    now: Counter = field(default_factory=Counter)
    now_left: Counter = field(default_factory=Counter)
    now_by_earlier_rule: int = 0
    now_steps: list[Step] = field(default_factory=list)

    @property
    def now_acts(self) -> int:
        return self.now["approve"] + self.now["reject"]

    # Counters answer 0 for any name, `items` included: pages read these lists instead.
    @property
    def left_to_people(self) -> list[tuple[str, int]]:
        return self.now_left.most_common()

    @property
    def states(self) -> list[tuple[str, int]]:
        return self.matched_by_state.most_common()


def dry_run(rule: Rule, *, now: datetime | None = None) -> DryRun:
    """The rule over every cached request of its account, as if each were new when placed:
    how many it matches, a sample, and every decided one where it disagrees with the decision
    made; then what the rules, this one enabled in its place, would do to the open requests
    now (the same plan `run` carries out)."""
    now = now or timezone.now()
    result = DryRun(rule=rule)
    matcher = Matcher(rule)
    rows = (
        TrackingValueRequest.objects.for_account(rule.account_sid)
        .live()
        .filter(matcher.q())
        .order_by("-date_placed", "-pk")
    )
    by_rule = Decision.objects.filter(
        request=OuterRef("pk"), status=Decision.Status.SENT, rule__isnull=False
    )
    rows = rows.annotate(by_rule=Exists(by_rule))
    keys = payload_keys([rule], approving=False)
    matched = [f for f in facts_of(rows, keys=keys, by_rule=True) if matcher.holds(f)]
    quota = HistoricQuota(rule, rule.account_sid, matched)
    for facts in matched:
        if not quota.room(facts):
            result.over_quota += 1
            continue
        result.matched += 1
        result.matched_by_state[facts.state] += 1
        if len(result.sample) < SAMPLE_SIZE:
            result.sample.append(facts)
        if facts.decided and not facts.by_rule:  # only what people decided
            differs = _disagreement(rule, facts)
            if differs:
                result.disagreements_total += 1
                if len(result.disagreements) < DISAGREEMENTS_SHOWN:
                    result.disagreements.append(differs)
    steps = plan(rule.account_sid, with_candidate(enabled_rules(rule.account_sid), rule), now=now)
    for step in steps.steps:
        if step.rule.pk != rule.pk:
            if Matcher(rule).holds(step.facts):
                result.now_by_earlier_rule += 1
            continue
        result.now_steps.append(step)
        if step.outcome:
            result.now[step.outcome] += 1
        else:
            result.now_left[step.left] += 1
    return result


def _disagreement(rule: Rule, facts: Facts) -> Disagreement | None:
    did = "approved" if facts.approved else "rejected"
    if rule.action == Rule.Action.REJECT:
        return Disagreement(facts, "reject", did) if facts.approved else None
    if not facts.approved:
        return Disagreement(facts, "approve", did)
    if facts.request_type == RequestType.PROMOCODE_TRACKING:
        code = code_to_approve(rule, facts)
        given = facts.approved_value
        if code and given and code.casefold() != given.casefold():
            return Disagreement(facts, f"approve {code}", f"approved {given}")
    return None


# --- acting -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    decided: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    stopped: str = ""

    @property
    def total(self) -> int:
        return sum(self.decided.values())


def run(account_sid: str, *, now: datetime | None = None) -> RunResult:
    """Carry out the plan of the account's enabled rules on its open requests: each decision
    through decisions.py with the rule as its actor. Stops when the rules are stopped (the
    kill switch, or a refusal streak), when impact.com cannot be reached or rate-limits, or
    when the hourly budget runs below TVR_RULES_BUDGET_FLOOR (the rest is kept for people)."""
    result = RunResult()
    account = Account.objects.filter(sid=account_sid).first()
    if account is None or account.rules_stopped_at is not None:
        result.stopped = account.rules_stopped_why if account else "no such account"
        return result
    rules = enabled_rules(account_sid)
    if not any(rule.acts for rule in rules):
        return result
    for step in plan(account_sid, rules, now=now).steps:
        if not step.acts:
            continue
        share = Account.objects.get(sid=account_sid).budget_share
        if share is not None and share < settings.TVR_RULES_BUDGET_FLOOR:
            result.stopped = "impact.com's hourly budget is nearly used up"
            break
        try:
            _decide(step)
        except Stop as stop:
            result.skipped[stop.message] += 1
            if stop.message == STOPPED:
                result.stopped = STOPPED
                break
        except (queues.HeldByOther, decisions.AlreadyDecided):
            result.skipped["decided or held meanwhile"] += 1
        except decisions.ImpactFailed as failed:
            result.skipped["impact.com refused"] += 1
            if not isinstance(failed.error, impact.Rejected):
                result.stopped = failed.message  # unreachable or rate-limited: try next sync
                break
            if Account.objects.filter(sid=account_sid, rules_stopped_at__isnull=False).exists():
                result.stopped = STOPPED
                break
        except decisions.DecisionError as error:
            result.skipped[error.message] += 1
        else:
            result.decided[step.outcome] += 1
    if result.total or result.stopped:
        logger.info(
            "Rules of %s: %s decided, %s skipped%s",
            account_sid,
            result.total,
            sum(result.skipped.values()),
            f"; stopped: {result.stopped}" if result.stopped else "",
        )
    return result


STOPPED = "rules are stopped on this account"
CHANGED = "the rule changed or was turned off"
QUOTA = "its quota is used up"


def _decide(step: Step) -> Decision:
    rule, facts = step.rule, step.facts
    tvr = TrackingValueRequest.objects.get(pk=facts.pk)
    guard = _guard(rule, facts)
    if step.outcome == "approve":
        return decisions.approve(request=tvr, approval=step.approval, rule=rule, guard=guard)
    return decisions.reject(request=tvr, reason=rule.reason, rule=rule, guard=guard)


def _guard(rule: Rule, facts: Facts):
    """What the claim checks inside its transaction, the account row locked so that claims
    by rules on one account happen one at a time: rules not stopped, the rule enabled at the
    version the plan used, and room in its quota counting every claim made before."""

    def check(current: TrackingValueRequest) -> None:
        account = Account.objects.select_for_update().get(sid=current.account_sid)
        if account.rules_stopped_at is not None:
            raise Stop(STOPPED)
        if not Rule.objects.filter(pk=rule.pk, enabled=True, version=rule.version).exists():
            raise Stop(CHANGED)
        if not Quotas(current.account_sid, timezone.now()).room(rule, facts):
            raise Stop(QUOTA)

    return check


def after_sync(run_row: Any) -> RunResult | None:
    """After a sync that succeeded (the task worker and `sync_requests` call this): the
    account's enabled rules act on its open requests."""
    from requests_app.models import SyncRun

    if run_row.status != SyncRun.Status.SUCCEEDED or run_row.kind == SyncRun.Kind.ONE:
        return None
    try:
        return run(run_row.account_sid)
    except Exception:
        logger.exception("Rules of %s failed", run_row.account_sid)
        return None


# --- stopping, resuming, and the refusal streak ----------------------------------------------


def stop(account_sid: str, *, by: Any = None, why: str = "") -> bool:
    """The kill switch: every rule of the account stops at once (a run in progress makes no
    further claim), and their decisions still waiting in the Undo window are taken back.
    False when they were already stopped."""
    if not why and by is not None:
        why = f"Stopped by {by.get_username()}."
    with transaction.atomic():
        stopped = Account.objects.filter(sid=account_sid, rules_stopped_at__isnull=True).update(
            rules_stopped_at=timezone.now(), rules_stopped_why=why[:300]
        )
        if stopped:
            audit.record(
                action="rules_stopped",
                outcome=AuditEvent.Outcome.INFO,
                actor=by,
                account_sid=account_sid,
                response_message=why,
            )
    waiting = Decision.objects.filter(
        status=Decision.Status.QUEUED, rule__isnull=False, request__account_sid=account_sid
    ).select_related("request", "rule")
    for decision in waiting:
        decisions.take_back(decision, by=by, why="The account's rules were stopped.")
    return bool(stopped)


def resume(account_sid: str, *, by: Any) -> bool:
    """Rules act again from the next sync; the refusal streak starts from nothing."""
    with transaction.atomic():
        resumed = Account.objects.filter(sid=account_sid, rules_stopped_at__isnull=False).update(
            rules_stopped_at=None, rules_stopped_why="", rule_refusals=0
        )
        if resumed:
            audit.record(
                action="rules_resumed",
                outcome=AuditEvent.Outcome.INFO,
                actor=by,
                account_sid=account_sid,
            )
    return bool(resumed)


def note_outcome(decision: Decision, error: impact.ImpactError | None) -> None:
    """decisions.py tells us how a rule's call went. impact.com refusing it (a 4xx) adds to
    the account's streak; TVR_RULES_REFUSAL_STREAK in a row stop every rule of the account
    and tell its admins. A call that went through ends the streak."""
    sid = decision.request.account_sid
    rows = Account.objects.filter(sid=sid)
    if error is None:
        rows.exclude(rule_refusals=0).update(rule_refusals=0)
        return
    if not isinstance(error, impact.Rejected):
        return
    with transaction.atomic():
        account = rows.select_for_update().get()
        account.rule_refusals = min(account.rule_refusals + 1, 32_000)
        account.save(update_fields=["rule_refusals"])
    streak = account.rule_refusals
    if streak >= settings.TVR_RULES_REFUSAL_STREAK and account.rules_stopped_at is None:
        why = (
            f"Paused: impact.com refused {streak} rule decisions in a row (last: "
            f"{error.detail[:120]}). Check the rules, then resume them."
        )
        if stop(sid, why=why):
            tell_admins(account, why)


def tell_admins(account: Account, why: str) -> int:
    """Email the account's admins (those with an address) that its rules stopped; how many
    were written to. A mail server that fails is logged; the pause stands either way."""
    people = get_user_model().objects.filter(
        is_active=True, tvr_grants__account=account, tvr_grants__role=Grant.Role.ADMIN
    )
    to = sorted({person.email for person in people if person.email})
    if not to:
        return 0
    page = reverse("requests:rules").removeprefix(get_script_prefix())
    link = f"{settings.TVR_SITE_URL.rstrip('/')}/a/{account.sid}/{page}"
    try:
        return send_mail(
            f"TVR Dashboard: the rules of {account} are paused",
            f"{why}\n\nThe rules page: {link}\n",
            None,
            to,
        )
    except Exception:
        logger.exception("Could not email the admins of %s about its paused rules", account.sid)
        return 0


# --- one request: which rule decided it, or suggests what -------------------------------------


@dataclass(frozen=True)
class Suggestion:
    rule: Rule
    action: str
    approval: impact.Approval | None
    reason: str


def same_values(suggested: impact.Approval | None, sent: impact.Approval) -> bool:
    """Whether an approval sends what a suggestion said (its deal aside, which a reviewer may
    drop)."""
    if suggested is None:
        return False
    keys = ("promo_code", "credit_policy", "match_mode", "url_id", "assigned_phone_number_id")
    return all(getattr(suggested, key) == getattr(sent, key) for key in keys)


def suggestion_for(tvr: TrackingValueRequest, rules: list[Rule]) -> Suggestion | None:
    """What the first enabled rule that matches this open request suggests, if that rule only
    suggests (a deciding rule acts at the next sync instead)."""
    if not tvr.is_open or not rules:
        return None
    facts = facts_of_request(tvr)
    quotas = Quotas(tvr.account_sid, timezone.now())
    for rule in rules:
        if Matcher(rule).holds(facts) and quotas.room(rule, facts):
            if rule.acts:
                return None
            approval = None
            if rule.action == Rule.Action.APPROVE:
                approval = approval_for(rule, facts, now=timezone.now())
                if approval is None:
                    return None
            return Suggestion(rule, rule.action, approval, rule.reason)
    return None


# --- writing rules: every change audited in its own transaction -------------------------------


def cached_enabled(account: Account) -> list[Rule]:
    """The account's enabled rules, in order, cached under its team version (every rule change
    bumps it), for the request page's suggestion; none while the account's rules are stopped."""
    if account.rules_stopped_at is not None:
        return []
    return account.cached("rules", lambda: enabled_rules(account.sid), follows="team")


def save(rule: Rule, *, by: Any) -> Rule:
    """Save a new rule or a new version of one. An edited rule is off until someone enables
    the new version after reading its dry run; its audit event records the whole definition."""
    with transaction.atomic():
        created = rule.pk is None
        if created:
            last = Rule.objects.filter(account_sid=rule.account_sid).order_by("-position").first()
            rule.position = (last.position + 1) if last else 1
        else:
            rule.version = Rule.objects.get(pk=rule.pk).version + 1
        was_enabled = rule.enabled
        rule.enabled = False
        rule.changed_at = timezone.now()
        rule.changed_by = by
        rule.save()
        _audit_rule(rule, "rule_saved", by, turned_off=was_enabled and not created)
    if not created:
        _take_back_queued(rule, by, "The rule was changed before this was sent.")
    Account.team_changed()
    return rule


def enable(rule: Rule, *, by: Any, version: int, said: DryRun) -> bool:
    """Turn the rule on at the version whose dry run the person read; False when it changed
    since (they must read the new one). The audit event keeps what the dry run showed."""
    with transaction.atomic():
        turned_on = Rule.objects.filter(pk=rule.pk, version=version, enabled=False).update(
            enabled=True, changed_at=timezone.now(), changed_by=by
        )
        if turned_on:
            rule.refresh_from_db()
            _audit_rule(
                rule,
                "rule_enabled",
                by,
                dry_run={
                    "matched": said.matched,
                    "disagreements": said.disagreements_total,
                    "now": dict(said.now),
                    "left_to_people": dict(said.now_left),
                },
            )
    if turned_on:
        Account.team_changed()
    return bool(turned_on)


def disable(rule: Rule, *, by: Any) -> bool:
    with transaction.atomic():
        turned_off = Rule.objects.filter(pk=rule.pk, enabled=True).update(
            enabled=False, changed_at=timezone.now(), changed_by=by
        )
        if turned_off:
            rule.refresh_from_db()
            _audit_rule(rule, "rule_disabled", by)
    if turned_off:
        _take_back_queued(rule, by, "The rule was turned off before this was sent.")
        Account.team_changed()
    return bool(turned_off)


def _take_back_queued(rule: Rule, by: Any, why: str) -> int:
    """Take back the rule's decisions still in their Undo window; how many."""
    waiting = rule.decisions.filter(status=Decision.Status.QUEUED).select_related("request")
    return sum(decisions.take_back(decision, by=by, why=why) for decision in waiting)


def still_acts(decision: Decision) -> bool:
    """Whether a rule's queued decision may still be sent: the account's rules are not
    stopped and the rule is enabled at the version that made it (decisions.send_queued)."""
    stopped = Account.objects.filter(
        sid=decision.request.account_sid, rules_stopped_at__isnull=False
    ).exists()
    return (
        not stopped
        and Rule.objects.filter(
            pk=decision.rule_id, enabled=True, version=decision.rule_version
        ).exists()
    )


def move(rule: Rule, *, by: Any, up: bool) -> None:
    """Swap the rule with the one before (or after) it: which rule wins a request changes."""
    with transaction.atomic():
        ordered = list(Rule.objects.select_for_update().filter(account_sid=rule.account_sid))
        at = next(i for i, each in enumerate(ordered) if each.pk == rule.pk)
        to = at - 1 if up else at + 1
        if not 0 <= to < len(ordered):
            return
        ordered[at], ordered[to] = ordered[to], ordered[at]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        Rule.objects.bulk_update(ordered, ["position"])
        _audit_rule(ordered[to], "rule_moved", by, order=[each.name for each in ordered])
    Account.team_changed()


def delete(rule: Rule, *, by: Any) -> bool:
    """Delete a rule that never decided anything nor had a suggestion confirmed; one that did
    stays, turned off, so those decisions keep naming it."""
    with transaction.atomic():
        if rule.decisions.exists() or rule.suggestions.exists():
            return False
        _audit_rule(rule, "rule_deleted", by)
        rule.delete()
    Account.team_changed()
    return True


def _audit_rule(rule: Rule, action: str, by: Any, **detail: Any) -> None:
    audit.record(
        action=action,
        outcome=AuditEvent.Outcome.INFO,
        actor=by,
        account_sid=rule.account_sid,
        detail={"rule": rule.pk, "rule_version": rule.version, **detail}
        | ({"definition": rule.definition()} if action == "rule_saved" else {}),
    )


# --- how pages put a rule into words ----------------------------------------------------------


def conditions_text(rule: Rule, names: dict[str, dict[int, str]]) -> list[str]:
    """The rule's conditions as short phrases; `names` maps campaign, partner and deal ids to
    their names (the list's filter choices)."""

    def named(kind: str, ids: list[int]) -> str:
        shown = [names.get(kind, {}).get(i, f"#{i}") for i in ids[:5]]
        more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
        return ", ".join(shown) + more

    phrases = []
    if rule.request_type:
        phrases.append(RequestType(rule.request_type).label.lower() + " requests")
    if rule.campaign_ids:
        phrases.append(f"campaign {named('campaign', rule.campaign_ids)}")
    if rule.partner_ids:
        phrases.append(f"partner {named('partner', rule.partner_ids)}")
    if rule.partner_group:
        phrases.append(f"deal for partner group “{rule.partner_group}”")
    if rule.deal == Rule.Deal.NONE:
        phrases.append("no deal")
    elif rule.deal == Rule.Deal.ANY:
        phrases.append("any deal")
    elif rule.deal == Rule.Deal.GIVEN:
        phrases.append(f"deal {named('deal', [rule.deal_id])}")
    if rule.deal_state:
        phrases.append(f"deal {rule.deal_state.lower()}")
    if rule.deal_type:
        phrases.append(f"deal type {rule.deal_type.replace('_', ' ').lower()}")
    if rule.min_number is not None:
        phrases.append(f"at least {rule.min_number} requested")
    if rule.max_number is not None:
        phrases.append(f"at most {rule.max_number} requested")
    if rule.code_pattern:
        phrases.append(f"requested code matches {rule.code_pattern}")
    if rule.quota is not None and rule.action == Rule.Action.APPROVE:
        period = Rule.Period(rule.quota_period).label
        phrases.append(f"fewer than {rule.quota} approvals per partner per campaign in a {period}")
    return phrases or ["every request"]


def action_text(rule: Rule) -> str:
    if rule.action == Rule.Action.REJECT:
        what = f"reject ({rule.reason})" if rule.reason else "reject"
    elif rule.request_type == RequestType.PROMOCODE_TRACKING:
        source = "the requested code" if rule.code_source != "deal_default" else "the deal's code"
        what = f"approve {source}, {rule.credit_policy or 'INVOLVED'}, {rule.match_mode or 'LI'}"
    elif rule.request_type == RequestType.BRANDED_URL_TRACKING:
        what = f"approve with URL id {rule.url_id}"
    else:
        what = f"approve with phone number id {rule.phone_number_id}"
    return what if rule.acts else f"suggest: {what}"
