"""Cached tracking value requests, sync runs, decisions and the audit trail.

Everything is keyed by impact.com AccountSID so one deployment can serve several accounts.
`sync.py` is the only writer of `TrackingValueRequest`; decisions are made through
`decisions.py`, which writes the audit event in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone


class State(models.TextChoices):
    NEW = "NEW", "New"
    APPROVED = "APPROVED", "Approved"
    COMPLETED = "COMPLETED", "Completed"
    DECLINED = "DECLINED", "Declined"


class RequestType(models.TextChoices):
    PROMOCODE_TRACKING = "PROMOCODE_TRACKING", "Promo code"
    BRANDED_URL_TRACKING = "BRANDED_URL_TRACKING", "Branded URL"
    PHONE_NUMBER_TRACKING = "PHONE_NUMBER_TRACKING", "Phone number"


# An AccountSID as impact.com writes them (letters and digits): what add_account accepts and what
# an address's /a/<SID>/ prefix may hold.
ACCOUNT_SID = r"[A-Za-z0-9_-]{1,64}"


class Account(models.Model):
    """One impact.com advertiser account, how to reach it, and what we know of its API budget
    and syncs. An account added in the app or with `manage.py add_account` carries its own
    token (encrypted, see credentials.py) and optionally its own API address; the account in
    the environment (or the sandbox's) needs neither."""

    sid = models.CharField("AccountSID", max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    base_url = models.URLField(
        "API base URL", blank=True, help_text="Leave empty for https://api.impact.com."
    )
    token_encrypted = models.TextField(blank=True, editable=False)
    token_saved_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_remaining = models.PositiveIntegerField(null=True, blank=True)
    rate_reset_at = models.DateTimeField(null=True, blank=True)
    rate_seen_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    # Bumped in the same transaction as any change to the account's cached requests (rows,
    # states, assignments): counts are cached under it, so no process serves stale ones.
    data_version = models.PositiveBigIntegerField(default=0)
    # Bumped only when a sync writes rows (what impact.com says changed): the filter bar's
    # campaigns, partners and deals are cached under it. A claim or a decision does not touch
    # them, and recounting them took 0.2-0.5 s at 100,000 requests.
    rows_version = models.PositiveBigIntegerField(default=0)
    # Bumped when users, their roles or the rejection reasons change (roles.watch_team_changes):
    # each user's permissions and the detail page's reviewers and reasons are cached under it,
    # so a claim or a decision does not make every page read them again.
    team_version = models.PositiveBigIntegerField(default=0)
    # When its unique URLs, phone numbers and promo codes were last read (tracking_values.py).
    tracking_values_synced_at = models.DateTimeField(null=True, blank=True)
    # Rules (rules.py): set while every rule of the account is stopped, by a person's kill
    # switch or by a streak of impact.com refusals; a person clears it.
    rules_stopped_at = models.DateTimeField(null=True, blank=True)
    rules_stopped_why = models.CharField(max_length=300, blank=True)
    # impact.com refusals of rule decisions in a row; a success sets it back to 0.
    rule_refusals = models.PositiveSmallIntegerField(default=0)
    # The team's Slack incoming webhook (notify.py), encrypted like the token: a secret URL.
    slack_webhook_encrypted = models.TextField(blank=True, editable=False)
    slack_webhook_saved_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["sid"]

    def __str__(self) -> str:
        return self.name or self.sid

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def set_token(self, token: str) -> None:
        """Keep `token` encrypted (saved by the caller); it is never shown again."""
        from requests_app import credentials

        self.token_encrypted = credentials.encrypt(token)
        self.token_saved_at = timezone.now()

    def auth_token(self) -> str:
        """The token in clear, for the client that sends it to impact.com and nothing else."""
        from requests_app import credentials

        return credentials.decrypt(self.token_encrypted)

    @classmethod
    def changed(cls, sid: str, *, rows: bool = False) -> None:
        """Record that the account's cached requests changed (see data_version); rows=True when
        a sync wrote them (see rows_version)."""
        bump = {"data_version": F("data_version") + 1}
        if rows:
            bump["rows_version"] = F("rows_version") + 1
        if not cls.objects.filter(sid=sid).update(**bump):
            cls.objects.get_or_create(sid=sid)

    @classmethod
    def team_changed(cls) -> None:
        """Users, roles or rejection reasons changed: what is cached under every account's team
        version (permissions, see roles.permissions; reviewers and reasons, roles.team_choices)
        is computed afresh."""
        cls.objects.update(team_version=F("team_version") + 1)

    def cached[T](
        self, name: str, compute: Callable[[], T], *, vary: str = "", follows: str = "data"
    ) -> T:
        """compute(), kept in the cache under one of this account's versions: `follows` "data"
        (any change to its requests), "rows" (only what a sync writes) or "team" (users, roles,
        reasons). Shared by every process when the cache is, and never staler than the data it
        was computed from, because the version comes from the database."""
        version = {
            "data": self.data_version,
            "rows": self.rows_version,
            "team": self.team_version,
        }[follows]
        return cache.get_or_set(f"tvr:{name}:{self.pk}:{vary}", compute, 3600, version=version)

    @property
    def budget_share(self) -> float | None:
        """Share of the hourly impact.com budget left, if impact.com told us."""
        if self.rate_limit and self.rate_remaining is not None:
            if self.rate_reset_at and self.rate_reset_at <= timezone.now():
                return 1.0
            return max(0.0, min(1.0, self.rate_remaining / self.rate_limit))
        return None


class TrackingValueRequestQuerySet(models.QuerySet):
    def for_account(self, account_sid: str) -> TrackingValueRequestQuerySet:
        return self.filter(account_sid=account_sid)

    def live(self) -> TrackingValueRequestQuerySet:
        return self.filter(is_gone=False)

    def open(self) -> TrackingValueRequestQuerySet:
        return self.filter(state=State.NEW, is_gone=False)


class TrackingValueRequest(models.Model):
    """A cached impact.com tracking value request: list columns plus the whole payload."""

    account_sid = models.CharField(max_length=64)
    impact_id = models.CharField("request id", max_length=32)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    campaign_name = models.CharField(max_length=255, blank=True)
    media_partner_id = models.BigIntegerField("partner id", null=True, blank=True)
    media_partner_name = models.CharField("partner", max_length=255, blank=True)
    request_type = models.CharField(max_length=32, choices=RequestType.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    number_requested = models.PositiveIntegerField(null=True, blank=True)
    date_placed = models.DateTimeField(null=True, blank=True)
    date_needed = models.DateTimeField(null=True, blank=True)
    date_completed = models.DateTimeField(null=True, blank=True)
    deal_id = models.BigIntegerField(null=True, blank=True)
    deal_name = models.CharField(max_length=255, blank=True)
    deal_type = models.CharField(max_length=32, blank=True)
    deal_state = models.CharField(max_length=16, blank=True)
    requested_value = models.CharField(max_length=500, blank=True)
    approved_value = models.CharField(max_length=500, blank=True)
    additional_instructions = models.TextField(blank=True)
    # Casefolded id, names, codes and instructions; indexed for substring search (see search.py).
    search_text = models.TextField(blank=True, editable=False)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    payload_hash = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # When impact.com produced this data; an older answer never overwrites a newer one.
    fetched_at = models.DateTimeField(default=timezone.now)
    is_gone = models.BooleanField(default=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The deadline: the earlier of date_needed and the account's target (sla.py stamps it).
    sla_due_at = models.DateTimeField("deadline", null=True, blank=True)

    objects = TrackingValueRequestQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "impact_id"], name="tvr_unique_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["account_sid", "state", "date_needed"], name="tvr_state_needed"),
            models.Index(fields=["account_sid", "date_placed"], name="tvr_placed"),
            # Every state, in the list's default order. A text search for a common word walks
            # it and stops after 51 matches instead of sorting thousands (PostgreSQL picks this
            # or the trigram index by how many rows the word matches).
            models.Index(fields=["account_sid", "date_needed", "id"], name="tvr_needed"),
            # A state tab (Open above all) with a type and a campaign, a partner or a deal, in
            # the list's default order: the first page reads 51 index entries. Without the
            # state in front, Open + type + campaign walked the type+campaign index and threw
            # away 17,792 decided rows to find 51 (321 ms of SQL at 100,000 requests; 0.5 ms).
            models.Index(
                fields=["account_sid", "state", "request_type", "campaign_id", "date_needed", "id"],
                name="tvr_state_type_campaign",
            ),
            models.Index(
                fields=["account_sid", "state", "media_partner_id", "date_needed", "id"],
                name="tvr_state_partner",
            ),
            models.Index(
                fields=["account_sid", "state", "deal_id", "date_needed", "id"],
                name="tvr_state_deal",
            ),
            # Type + campaign, in the list's default order: the first page stops after 51 rows.
            models.Index(
                fields=["account_sid", "request_type", "campaign_id", "date_needed", "id"],
                name="tvr_type_campaign_needed",
            ),
            # "Approved for another partner?" on the detail page: the code, case-insensitively.
            models.Index(F("account_sid"), Upper("approved_value"), name="tvr_approved_code"),
            # A partner's requests, newest first (the detail page's "other requests").
            models.Index(
                fields=["account_sid", "media_partner_id", "-date_placed"],
                name="tvr_partner_placed",
            ),
            # The All tab with a partner or a deal, in the list's default order: the first page
            # reads 51 index entries. Through tvr_needed it threw away the other partners' and
            # deals' rows, about 2,500 for a partner or deal on 2% of requests (13-18 ms of
            # SQL). tvr_deal_needed also serves what tvr_deal (account, deal) did.
            models.Index(
                fields=["account_sid", "media_partner_id", "date_needed", "id"],
                name="tvr_partner_needed",
            ),
            models.Index(
                fields=["account_sid", "deal_id", "date_needed", "id"], name="tvr_deal_needed"
            ),
            models.Index(fields=["account_sid", "campaign_name"], name="tvr_campaign_name"),
            models.Index(fields=["account_sid", "media_partner_name"], name="tvr_partner_name"),
            # Someone's queue ("mine"), in the list's default order: SQLite otherwise walked
            # every open request by date needed looking for theirs.
            models.Index(
                fields=["assigned_to", "state", "date_needed", "id"], name="tvr_assignee_needed"
            ),
            # A state tab or queue by time to breach, soonest first (the "breach" sort).
            models.Index(
                fields=["account_sid", "state", "sla_due_at", "id"], name="tvr_state_breach"
            ),
            # Tab and queue counts read only this index (index-only scans, no table rows).
            models.Index(
                fields=["account_sid", "is_gone", "state", "date_needed", "assigned_to"],
                name="tvr_counts",
            ),
        ]
        permissions = [
            ("decide_request", "Can approve and reject tracking value requests"),
            ("claim_request", "Can claim, release and assign requests"),
            ("comment_request", "Can comment on requests"),
            ("run_sync", "Can start a sync with impact.com"),
            ("export_audit", "Can export the audit trail"),
        ]

    def __str__(self) -> str:
        return f"{self.impact_id} · {self.media_partner_name}"

    @property
    def is_open(self) -> bool:
        return self.state == State.NEW and not self.is_gone

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.date_needed is not None and self.date_needed < timezone.now()

    @property
    def is_due_soon(self) -> bool:
        if not self.is_open or self.date_needed is None:
            return False
        now = timezone.now()
        return now <= self.date_needed <= now + timedelta(days=settings.TVR_DUE_SOON_DAYS)


class SyncRun(models.Model):
    """One run of sync.py for one account: progress while it runs, counts when it ends."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        OPEN = "open", "Open requests only"
        ONE = "one", "One request"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    account_sid = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    rate_remaining = models.PositiveIntegerField(null=True, blank=True)
    rate_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The database, not process memory, guarantees one sync per account at a time.
            models.UniqueConstraint(
                fields=["account_sid"],
                condition=Q(status="running") & ~Q(kind="one"),
                name="one_running_sync_per_account",
            ),
        ]
        indexes = [models.Index(fields=["account_sid", "-started_at"], name="syncrun_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync of {self.account_sid} ({self.status})"

    @property
    def duration(self) -> timedelta | None:
        return (self.finished_at - self.started_at) if self.finished_at else None

    @property
    def percent(self) -> int | None:
        if self.pages_total:
            return min(100, round(100 * self.pages_done / self.pages_total))
        return None


class Decision(models.Model):
    """An approve or reject of one request, from the click to impact.com's answer.

    A partial unique constraint allows one live decision (queued, sending or sent) per
    request, so a double click, a second tab or a second reviewer cannot send twice.
    """

    class Action(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        # Sent, but impact.com's answer was lost or unclear (or it queued the call): the slot
        # stays taken until a re-read of the request settles it to SENT or FAILED.
        UNCONFIRMED = "unconfirmed", "Checking with impact.com"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    LIVE = (Status.QUEUED, Status.SENDING, Status.UNCONFIRMED, Status.SENT)

    request = models.ForeignKey(
        TrackingValueRequest, on_delete=models.PROTECT, related_name="decisions"
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    sent = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    # A person, or (when empty) the rule below, at the version it had when it decided.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    rule = models.ForeignKey(
        "Rule", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    # A person's decision that confirmed what a rule suggested (that rule, at that version).
    suggested_by = models.ForeignKey(
        "Rule", null=True, blank=True, on_delete=models.PROTECT, related_name="suggestions"
    )
    suggested_version = models.PositiveIntegerField(null=True, blank=True)
    # Who held the request when the decider confirmed acting on it anyway.
    overrode_holder = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    # While sending: the sender's lease. A sender that dies lets it lapse, and the sweep takes
    # the decision over as unconfirmed (it may or may not have reached impact.com).
    lease_until = models.DateTimeField(null=True, blank=True)
    # While unconfirmed: when to re-read the request next, and how often it was re-read.
    next_check_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveSmallIntegerField(default=0)
    # impact.com's QueuedUri: it accepted the call into its own queue, to apply later.
    queued_uri = models.CharField(max_length=500, blank=True)
    # The audit event of the attempt whose outcome a settling event resolves.
    attempt_event = models.ForeignKey(
        "AuditEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(status__in=["queued", "sending", "unconfirmed", "sent"]),
                name="one_live_decision_per_request",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=False) | Q(rule__isnull=False),
                name="decision_has_a_decider",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_after"], name="decision_due"),
            # A rule's decisions, newest first (its page; its quota counts).
            models.Index(fields=["rule", "created_at"], name="decision_rule"),
            models.Index(fields=["status", "next_check_at"], name="decision_unsettled"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.request.impact_id} ({self.status})"

    @property
    def decider(self) -> str:
        """Who decided, as pages and the audit name them: a username, or the rule and its
        version (select_related "rule" where a page shows many)."""
        if self.rule_id is not None:
            return rule_actor(self.rule.name, self.rule_version or self.rule.version)
        return self.decided_by.get_username() if self.decided_by_id else ""


def rule_actor(name: str, version: int) -> str:
    """How the audit trail and the pages name a rule that acted: `rule “name” v3`."""
    return f"rule “{name}” v{version}"[:150]


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """An append-only, hash-chained record of who did what, and what impact.com answered."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        FAILURE = "failure", "Failed"
        CONFLICT = "conflict", "Conflict"
        PENDING = "pending", "Pending"
        UNKNOWN = "unknown", "Outcome unknown"
        INFO = "info", "Recorded"

    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, blank=True)
    account_sid = models.CharField(max_length=64, blank=True)
    request_impact_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=32)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    sent = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["account_sid", "request_impact_id", "id"], name="audit_request"),
            # The audit page of one account, newest first. By the primary key alone, a second
            # account's page skipped every newer event of the first (100,105 rows, 655 ms).
            models.Index(fields=["account_sid", "-id"], name="audit_account"),
            models.Index(fields=["actor", "id"], name="audit_actor"),
            # One account's events of one action, newest first (the audit filter reads each
            # visible account apart); by the action alone, the sign-ins' empty account read
            # every approval of every account to find none of its own (14 ms of SQLite's).
            models.Index(fields=["account_sid", "action", "id"], name="audit_account_action"),
            models.Index(fields=["created_at"], name="audit_created"),
        ]

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")

    def content(self) -> dict[str, Any]:
        """The fields the hash covers, in a stable form."""
        created: datetime = self.created_at
        return {
            "created_at": created.isoformat(),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "account_sid": self.account_sid,
            "request_impact_id": self.request_impact_id,
            "action": self.action,
            "outcome": self.outcome,
            "sent": self.sent,
            "response_status": self.response_status,
            "response_message": self.response_message,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        blob = json.dumps(self.content(), sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class Comment(models.Model):
    """A note on a request, visible to the team in its timeline."""

    request = models.ForeignKey(
        TrackingValueRequest, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["request", "created_at"], name="comment_request")]

    def __str__(self) -> str:
        return f"{self.author} on {self.request.impact_id}"


class Grant(models.Model):
    """One person's role on one account: what they may do there (roles.py). A person sees
    only the accounts granted to them; superusers see all."""

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        REVIEWER = "reviewer", "Reviewer"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tvr_grants"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="grant_one_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} is {self.role} on {self.account_id}"


class RejectionReason(models.Model):
    """A reason an account's admin keeps for reviewers to pick when rejecting."""

    account_sid = models.CharField(max_length=64, blank=True)
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "label"], name="rejection_reason_unique_label"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @classmethod
    def active_labels(cls, account_sid: str) -> list[str]:
        rows = cls.objects.filter(account_sid=account_sid, active=True)
        return list(rows.values_list("label", flat=True))


class SavedView(models.Model):
    """A named set of list filters, for its owner or for the whole team."""

    account_sid = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    shared = models.BooleanField("shared with the team", default=False)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "owner", "name"], name="saved_view_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SignInFailure(models.Model):
    """Failed sign-ins for one username from one address in one window, counted on one row:
    a flood of attempts bumps a count instead of writing a row (or an audit event) each."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45, blank=True)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)  # password checked and wrong
    refused = models.PositiveIntegerField(default=0)  # turned away unchecked while throttled
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)  # the last checked failure

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["username", "address", "window_start"], name="signin_failure_window"
            ),
        ]
        indexes = [
            models.Index(fields=["address", "last_at"], name="signin_failure_address"),
            models.Index(fields=["last_at"], name="signin_failure_last"),
        ]

    def __str__(self) -> str:
        return f"{self.username or '(any)'} from {self.address or '?'}: {self.failures}"


class Preference(models.Model):
    """One person's settings for how the pages behave for them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tvr_preference",
    )
    # After approving or rejecting, open the same list's next open request by itself.
    auto_advance = models.BooleanField("open the next request after a decision", default=True)
    # The account a page without one in its address opens (the last one switched to).
    account_sid = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Preferences of user {self.user_id}"

    @classmethod
    def auto_advance_for(cls, user: Any) -> bool:
        """Whether `user` moves on after a decision (yes, until they turn it off)."""
        found = cls.objects.filter(user=user.pk).values_list("auto_advance", flat=True).first()
        return True if found is None else found


class TrackingValue(models.Model):
    """One of an account's unique URLs, tracking phone numbers or promo codes, as impact.com
    last listed it: what the approve forms offer to pick and what promo codes are checked
    against. Written only by tracking_values.py."""

    class Kind(models.TextChoices):
        URL = "url", "Unique URL"
        PHONE = "phone", "Phone number"
        CODE = "code", "Promo code"

    account_sid = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    impact_id = models.CharField(max_length=32)
    value = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    campaign_name = models.CharField(max_length=255, blank=True)
    partner_id = models.BigIntegerField(null=True, blank=True)
    partner_name = models.CharField(max_length=255, blank=True)
    match_mode = models.CharField(max_length=2, blank=True)
    credit_policy = models.CharField(max_length=16, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    # Casefolded id, value, partner, campaign and detail: what the picker's search looks in.
    search_text = models.TextField(blank=True, editable=False)
    synced_at = models.DateTimeField(default=timezone.now)
    is_gone = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "kind", "impact_id"], name="tracking_value_unique"
            )
        ]
        indexes = [
            models.Index(fields=["account_sid", "kind", "state"], name="tracking_value_state"),
            models.Index(F("account_sid"), Upper("value"), name="tracking_value_code"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.impact_id}: {self.value}"


class SlaTarget(models.Model):
    """Decide within `hours` business hours of DatePlaced (sla.py): for one campaign, or with
    no campaign for every campaign of the account that has none of its own."""

    account_sid = models.CharField(max_length=64)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    hours = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["account_sid", "campaign_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "campaign_id"], name="sla_target_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["account_sid"],
                condition=Q(campaign_id__isnull=True),
                name="sla_target_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours} business hours ({self.campaign_id or 'default'})"


class Rule(models.Model):
    """An admin's standing decision for one account's requests (rules.py applies them): its
    conditions, and what it does to a NEW request they all hold for. The account's rules are
    tried in `position` order and the first that matches wins. Every edit is a new `version`
    and leaves the rule off until someone enables it again after reading its dry run."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    class Mode(models.TextChoices):
        DECIDE = "decide", "Decide by itself"
        SUGGEST = "suggest", "Only suggest (a reviewer confirms)"

    class Deal(models.TextChoices):
        EITHER = "", "With or without a deal"
        NONE = "none", "No deal"
        ANY = "any", "Any deal"
        GIVEN = "given", "This deal"

    class CodeSource(models.TextChoices):
        REQUESTED = "requested", "The code the partner asked for"
        DEAL_DEFAULT = "deal_default", "The deal's default code"

    class Period(models.TextChoices):
        DAY = "day", "day"
        WEEK = "week", "week"
        MONTH = "month", "30 days"

    PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}

    account_sid = models.CharField(max_length=64)
    name = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    enabled = models.BooleanField(default=False)
    # Conditions: an empty one holds for every request.
    request_type = models.CharField(
        "request type", max_length=32, choices=RequestType.choices, blank=True
    )
    campaign_ids = models.JSONField("campaigns", default=list, blank=True)
    partner_ids = models.JSONField("partners", default=list, blank=True)
    partner_group = models.CharField(
        "partner group",
        max_length=120,
        blank=True,
        help_text="A group the request's deal is restricted to (impact.com names these).",
    )
    deal = models.CharField(max_length=8, choices=Deal.choices, blank=True)
    deal_id = models.BigIntegerField("deal id", null=True, blank=True)
    deal_state = models.CharField("deal state", max_length=16, blank=True)
    deal_type = models.CharField("deal type", max_length=32, blank=True)
    min_number = models.PositiveIntegerField("at least this many requested", null=True, blank=True)
    max_number = models.PositiveIntegerField("at most this many requested", null=True, blank=True)
    code_pattern = models.CharField(
        "requested code matches",
        max_length=255,
        blank=True,
        help_text="A regular expression the whole requested code must match (case-sensitive).",
    )
    quota = models.PositiveIntegerField(
        "at most this many approvals", null=True, blank=True, help_text="Per partner per campaign."
    )
    quota_period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    # What it does.
    action = models.CharField(max_length=8, choices=Action.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SUGGEST)
    code_source = models.CharField(
        "code to approve", max_length=16, choices=CodeSource.choices, blank=True
    )
    credit_policy = models.CharField("credit policy", max_length=16, blank=True)
    match_mode = models.CharField("match mode", max_length=2, blank=True)
    url_id = models.BigIntegerField("branded URL id", null=True, blank=True)
    phone_number_id = models.BigIntegerField("assigned phone number id", null=True, blank=True)
    reason = models.CharField("rejection reason", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["account_sid", "name"], name="rule_unique_name"),
        ]
        indexes = [models.Index(fields=["account_sid", "position"], name="rule_order")]

    def __str__(self) -> str:
        return self.name

    @property
    def actor(self) -> str:
        return rule_actor(self.name, self.version)

    @property
    def acts(self) -> bool:
        return self.mode == self.Mode.DECIDE

    def definition(self) -> dict[str, Any]:
        """Everything that makes this version what it is: what its audit events record."""
        return {name: getattr(self, name) for name in self.DEFINITION}

    DEFINITION = (
        "name",
        "version",
        "request_type",
        "campaign_ids",
        "partner_ids",
        "partner_group",
        "deal",
        "deal_id",
        "deal_state",
        "deal_type",
        "min_number",
        "max_number",
        "code_pattern",
        "quota",
        "quota_period",
        "action",
        "mode",
        "code_source",
        "credit_policy",
        "match_mode",
        "url_id",
        "phone_number_id",
        "reason",
    )


class NotificationSettings(models.Model):
    """What one person is told (notify.py), where, and how often."""

    class Frequency(models.TextChoices):
        AT_ONCE = "at_once", "At once"
        HOURLY = "hourly", "An hourly digest"
        DAILY = "daily", "A daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tvr_notification_settings",
    )
    new_in_queues = models.BooleanField("new requests in my queues", default=False)
    about_to_breach = models.BooleanField("requests I hold about to breach", default=False)
    breaches = models.BooleanField("breaches of requests in my queues", default=False)
    rule_paused = models.BooleanField("an account's rules paused (admins)", default=False)
    by_email = models.BooleanField("by email", default=True)
    by_slack = models.BooleanField("in the team's Slack channel", default=False)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.HOURLY)
    # Nothing is sent between these times (in time_zone); what comes due waits for the end.
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_to = models.TimeField(null=True, blank=True)
    # The zone quiet hours and digest times are in: the person's browser's when they saved.
    time_zone = models.CharField(max_length=64, blank=True)
    # When this person's last message left (digests are due from it).
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Notifications of user {self.user_id}"


class Mute(models.Model):
    """A request, or a partner of an account, one person hears nothing more about."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    account_sid = models.CharField(max_length=64)
    request_impact_id = models.CharField(max_length=32, blank=True)
    partner_id = models.BigIntegerField(null=True, blank=True)
    partner_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account_sid", "request_impact_id"],
                condition=~Q(request_impact_id=""),
                name="mute_request_once",
            ),
            models.UniqueConstraint(
                fields=["user", "account_sid", "partner_id"],
                condition=Q(partner_id__isnull=False),
                name="mute_partner_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} mutes {self.request_impact_id or self.partner_name}"


class Notification(models.Model):
    """One thing to tell one person on one channel, at most once: `key` names the event
    (a unique constraint keeps two workers from making it twice). A delivery sends it."""

    class Kind(models.TextChoices):
        NEW = "new", "New request in your queues"
        SOON = "soon", "About to breach"
        BREACH = "breach", "Breached its deadline"
        PAUSED = "paused", "Rules paused"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    account_sid = models.CharField(max_length=64)
    request = models.ForeignKey(
        TrackingValueRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=300, blank=True)  # for an event without a request
    created_at = models.DateTimeField(default=timezone.now)
    delivery = models.ForeignKey(
        "Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "channel", "key"], name="notification_once"),
            # The team's Slack channel hears of an event once, however many people want it.
            models.UniqueConstraint(
                fields=["channel", "key"],
                condition=Q(channel="slack"),
                name="notification_once_per_team",
            ),
        ]
        indexes = [
            models.Index(fields=["delivery", "user", "channel"], name="notification_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} by {self.channel}"


class Delivery(models.Model):
    """One message (a notification, or a digest of several) to one person on one channel:
    sent by the task worker, retried with backoff, given up on with a record."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Given up"
        DROPPED = "dropped", "Nothing left to send"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=Notification.Channel.choices)
    # A Slack message goes to one account's team (each retried apart); email: blank.
    account_sid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.user_id} ({self.status})"
