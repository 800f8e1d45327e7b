"""Admin for accounts and users, and read-only views of the cache, syncs, decisions, sign-in
failures and the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from requests_app import roles
from requests_app.models import (
    Account,
    AuditEvent,
    Decision,
    Grant,
    SignInFailure,
    SyncRun,
    TrackingValueRequest,
)
from requests_app.signin import ThrottledAdminAuthenticationForm

# The admin's sign-in is throttled like the app's (requests_app/signin.py).
admin.site.login_form = ThrottledAdminAuthenticationForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by sync.py, decisions.py or audit.py only: the admin just shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["sid", "name", "last_synced_at", "last_full_sync_at", "rate_remaining"]
    # Where the token goes is changed on the Accounts page, which checks it with impact.com.
    readonly_fields = [
        "sid",
        "base_url",
        "token_saved_at",
        "rate_limit",
        "rate_remaining",
        "rate_reset_at",
        "rate_seen_at",
        "last_synced_at",
        "last_full_sync_at",
    ]


@admin.register(TrackingValueRequest)
class TrackingValueRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "impact_id",
        "media_partner_name",
        "campaign_name",
        "request_type",
        "number_requested",
        "deal_name",
        "state",
        "date_placed",
        "date_needed",
        "assigned_to",
    ]
    list_filter = ["state", "request_type", "campaign_name", "deal_state", "is_gone", "date_needed"]
    search_fields = [
        "impact_id",
        "media_partner_name",
        "campaign_name",
        "deal_name",
        "additional_instructions",
    ]
    list_select_related = ["assigned_to"]
    date_hierarchy = None
    ordering = ["date_needed", "id"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["account_sid", "kind", "status", "started_at", "pages_done", "created"]
    list_filter = ["status", "kind"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["request", "action", "status", "decided_by", "created_at"]
    list_filter = ["action", "status"]
    list_select_related = ["request", "decided_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "outcome", "request_impact_id"]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_name", "request_impact_id"]


@admin.register(SignInFailure)
class SignInFailureAdmin(ReadOnlyAdmin):
    list_display = ["username", "address", "window_start", "failures", "refused", "last_at"]
    search_fields = ["username", "address"]


# Only a superuser grants what goes beyond the three roles: superuser, staff (the admin site)
# and permissions of one's own. Read-only fields are left out of the form, so a crafted POST
# cannot set them either.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")

admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class TeamUserAdmin(UserAdmin):
    """Django's user admin, for the admin role: sign-ins yes, privileges no, and only the
    sign-ins of the admin's own accounts (and of nobody's yet, as a new one is): an admin of
    one account never resets the password of a person who holds a role on another."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        people = super().get_queryset(request)
        if request.user.is_superuser:
            return people
        mine = Grant.objects.filter(user=request.user.pk, role=roles.ADMIN).values("account")
        elsewhere = Grant.objects.exclude(account__in=mine).values("user")
        return people.exclude(pk__in=elsewhere)  # superusers show, unchangeable (below)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return [*fields, *PRIVILEGE_FIELDS]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A superuser's account (its password included) is changed by a superuser only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)
