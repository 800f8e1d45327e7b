"""The audit trail: append-only for real, and a hash chain that catches an edited row."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from requests_app import audit, roles
from requests_app.models import AuditEvent
from tests.conftest import in_account

pytestmark = pytest.mark.django_db


def three_events(alice) -> list[AuditEvent]:
    return [
        audit.record(action="claim", outcome="success", actor=alice, request_impact_id="1"),
        audit.record(
            action="approve",
            outcome="success",
            actor=alice,
            request_impact_id="1",
            sent={"PromoCode": "SAVE10", "CreditPolicy": "WINNER", "MatchMode": "LI"},
            response_status=200,
            response_message="OK",
        ),
        audit.record(action="sync", outcome="failure", response_message="impact.com down"),
    ]


def test_each_event_is_chained_to_the_one_before(alice):
    first, second, third = three_events(alice)

    assert first.prev_hash == ""
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert second.actor_name == "alice"


def test_verify_audit_passes_on_an_untouched_chain(alice, capsys):
    three_events(alice)

    call_command("verify_audit")

    assert "3 events verified" in capsys.readouterr().out


def test_the_application_cannot_update_or_delete_an_event(alice):
    event = three_events(alice)[0]

    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_to_change_an_event_on_postgresql(alice):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    event = three_events(alice)[0]

    for sql in (
        "UPDATE requests_app_auditevent SET outcome = 'failure' WHERE id = %s",
        "DELETE FROM requests_app_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])


def test_verify_audit_names_the_first_edited_event(alice):
    events = three_events(alice)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only a database owner can step around the trigger, as an attacker would have to.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE requests_app_auditevent SET response_message = 'forged' WHERE id = %s",
            [events[1].pk],
        )

    with pytest.raises(CommandError, match=f"broken at event {events[1].pk}"):
        call_command("verify_audit")


def test_a_removed_event_breaks_the_chain_at_the_next_one(alice):
    events = three_events(alice)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM requests_app_auditevent WHERE id = %s", [events[1].pk])

    checked, broken = audit.verify_chain()

    assert checked == 1
    assert broken is not None and broken.pk == events[2].pk


def test_the_hash_survives_a_reload_with_decimals_and_dates_in_the_detail(alice):
    from datetime import UTC, datetime
    from decimal import Decimal

    audit.record(
        action="approve",
        outcome="success",
        actor=alice,
        detail={"amount": Decimal("19.99"), "when": datetime(2026, 1, 2, tzinfo=UTC)},
    )

    assert audit.verify_chain() == (1, None)


# --- the audit page as it renders the events -----------------------------------------------


def test_the_audit_page_shows_each_event_escaped_and_in_the_viewers_zone(client, admin):
    from zoneinfo import ZoneInfo

    admin.is_superuser = True  # failed sign-ins (of nobody's account) are theirs to read
    admin.save()
    client.force_login(admin)
    client.cookies["tz"] = "Asia/Kolkata"
    event = audit.record(
        action="reject",
        outcome="conflict",
        actor=admin,
        request_impact_id="9 <b>",
        sent={"Note": "<script>x</script>", "Empty": None, "A": 1},
        response_status=409,
        response_message="Already decided & <gone> " + "x" * 200,
    )
    when = AuditEvent.objects.get(pk=event.pk).created_at
    audit.record(action="sign_in_failed", outcome="failure", response_message="")

    body = client.get(reverse("requests:audit")).content.decode()

    local = when.astimezone(ZoneInfo("Asia/Kolkata"))
    assert (
        f'<tr><td><time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M:%S}</time></td>'
        in body
    )
    assert '<span class="outcome-conflict">Conflict</span>' in body
    assert f'<a href="{in_account("/r/9%20%3Cb%3E/")}">9 &lt;b&gt;</a>' in body
    assert (
        "A=<code>1</code> Empty=<code></code> Note=<code>&lt;script&gt;x&lt;/script&gt;</code>"
        in body
    )
    assert "<script>x" not in body
    assert "409 Already decided &amp; &lt;gone&gt; xxx" in body and "x…</td>" in body
    assert "<td>system</td><td>failed to sign in</td>" in body


def test_the_audit_page_seen_in_another_zone_shows_its_times(client, admin):
    from zoneinfo import ZoneInfo

    event = audit.record(action="claim", outcome="success", actor=admin, request_impact_id="1")
    client.force_login(admin)
    for zone in ("UTC", "Asia/Kolkata", "UTC"):
        client.cookies["tz"] = zone
        body = client.get(reverse("requests:audit")).content.decode()
        local = event.created_at.astimezone(ZoneInfo(zone))
        assert f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M:%S}</time>' in body


def test_the_audit_filter_bar_renders_the_forms_own_fields(client, admin):
    from requests_app.views.audit import AuditFilterForm

    client.force_login(admin)
    query = {"person": "ada", "outcome": "failure", "since": "2026-11-01"}

    body = client.get(reverse("requests:audit"), query).content.decode()

    form = AuditFilterForm(query)
    for name in AuditFilterForm.BAR:
        assert str(form[name]) in body  # exactly as Django renders the field
    assert '<option value="failure" selected>Failed</option>' in body
    assert '<input type="date" name="since" value="2026-11-01" id="id_since">' in body
    assert 'maxlength="150"' in body and '<label for="id_until">To</label>' in body
    other = client.get(reverse("requests:audit"), {"outcome": "success"}).content.decode()
    assert '<option value="success" selected>' in other and 'value="ada"' not in other


def test_the_audit_pager_and_export_keep_the_filters(client, admin):
    from urllib.parse import parse_qs, urlsplit

    for i in range(103):
        audit.record(action="claim", outcome="success", actor=admin, request_impact_id=str(i))
    client.force_login(admin)

    body = client.get(reverse("requests:audit"), {"action": "claim"}).content.decode()

    older = body[body.index('<nav class="pager"><a href="') + 28 :].split('"')[0]
    export = body[body.index(f'href="{in_account("/audit/export.csv")}') + 6 :].split('"')[0]
    assert parse_qs(urlsplit(older.replace("&amp;", "&")).query)["action"] == ["claim"]
    assert "before" in parse_qs(urlsplit(older.replace("&amp;", "&")).query)
    assert parse_qs(urlsplit(export.replace("&amp;", "&")).query) == {"action": ["claim"]}


# --- the audit page and its export: only this deployment's account ---------------------------

OTHER = "IRotherAccount00001"


HTMX = {"HTTP_HX_REQUEST": "true"}  # only the events, not the filter bar's choices


def csv_lines(response) -> list[str]:
    return b"".join(response.streaming_content).decode().strip().splitlines()


@pytest.fixture
def two_accounts(alice, sandbox_sid):
    ours = audit.record(
        action="claim", outcome="success", actor=alice, account_sid=sandbox_sid,
        request_impact_id="111111",
    )  # fmt: skip
    theirs = audit.record(
        action="claim", outcome="success", actor=alice, account_sid=OTHER,
        request_impact_id="999999",
    )  # fmt: skip
    sign_in = audit.record(action="sign_in", outcome="success", actor=alice)  # no account
    return ours, theirs, sign_in


@pytest.mark.parametrize(
    "query",
    [{}, {"account": OTHER}, {"request_id": "999999"}, {"account": OTHER, "request_id": "999999"}],
)
def test_the_audit_page_never_shows_another_accounts_events(client, admin, two_accounts, query):
    client.force_login(admin)

    page = client.get(reverse("requests:audit"), query, **HTMX).content.decode()
    export = csv_lines(client.get(reverse("requests:audit_export"), query))

    assert reverse("requests:detail", args=["999999"]) not in page
    assert not any("999999" in line for line in export)


def test_the_audit_page_shows_this_accounts_events_and_account_less_ones(
    client, admin, two_accounts, sandbox_sid
):
    client.force_login(admin)

    page = client.get(reverse("requests:audit"), **HTMX).content.decode()
    export = csv_lines(client.get(reverse("requests:audit_export"), {"account": sandbox_sid}))

    assert reverse("requests:detail", args=["111111"]) in page and ">signed in<" in page
    assert len(export) == 2 and "111111" in export[1]  # the header and our claim


def test_the_audit_scope_follows_the_account_shown(client, admin, two_accounts, settings):
    roles.grant(admin, OTHER, roles.ADMIN)
    client.force_login(admin)
    client.post(reverse("requests:switch_account"), {"to": OTHER})

    page = client.get(reverse("requests:audit"), **HTMX).content.decode()

    assert reverse("requests:detail", args=["999999"]) in page
    assert reverse("requests:detail", args=["111111"]) not in page


@pytest.mark.parametrize("before", ["²", "١٢x", "-5", "0", "1e3", "9" * 30, "abc"])
def test_a_bad_before_cursor_is_a_clear_400_not_a_500(client, admin, two_accounts, before):
    client.force_login(admin)

    response = client.get(reverse("requests:audit"), {"before": before})

    assert response.status_code == 400
    assert "Older than" in response.content.decode()


def test_the_before_cursor_pages_back_through_the_events(client, admin, two_accounts):
    _ours, _theirs, sign_in = two_accounts
    client.force_login(admin)

    page = client.get(
        reverse("requests:audit"), {"before": str(sign_in.pk)}, **HTMX
    ).content.decode()

    assert reverse("requests:detail", args=["111111"]) in page and ">sign_in<" not in page


def test_a_bad_filter_refuses_the_export_rather_than_widening_it(client, admin, two_accounts):
    client.force_login(admin)

    response = client.get(reverse("requests:audit_export"), {"since": "yesterday"})

    assert response.status_code == 400


def test_the_cached_audit_rows_show_a_new_event_at_once(client, admin):
    client.force_login(admin)
    audit.record(action="claim", outcome="success", actor=admin, request_impact_id="1")
    first = client.get(reverse("requests:audit")).content.decode()
    audit.record(action="comment", outcome="success", actor=admin, request_impact_id="2")

    body = client.get(reverse("requests:audit")).content.decode()

    link = f'<a href="{in_account("/r/2/")}">2</a>'
    assert link in body and link not in first
    assert body.count("<tr><td><time") == first.count("<tr><td><time") + 1


def test_one_accounts_audit_page_reads_its_own_index_not_every_newer_event(sandbox_sid):
    # A second account's page, by the primary key alone, skipped every newer event of the
    # first (100,105 of them, 655 ms of SQL, in the bench).
    AuditEvent.objects.bulk_create(
        AuditEvent(account_sid=sid, action="claim", outcome="success", hash=f"{n:064x}")
        for n, sid in enumerate([sandbox_sid] * 300 + ["IRSomebodyElse0000000000000001"] * 3000)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the planner chooses by the table's statistics
            cursor.execute(f"ANALYZE {AuditEvent._meta.db_table}")

    plan = AuditEvent.objects.filter(account_sid__in=[sandbox_sid]).order_by("-id")[:101].explain()

    assert "audit_account" in plan


def test_the_audit_page_interleaves_the_account_and_sign_ins_newest_first_across_pages(
    client, admin, sandbox_sid
):
    # Each visible account's events are read apart (through its own index) and merged.
    client.force_login(admin)  # itself a sign-in, the oldest event
    expected = [""]
    for i in range(130):
        account = sandbox_sid if i % 3 else ""  # a sign-in (no account) every third event
        audit.record(
            action="claim" if account else "sign_in", outcome="success", actor=admin,
            account_sid=account, request_impact_id=str(1000 + i) if account else "",
        )  # fmt: skip
        expected.append(str(1000 + i) if account else "")

    first = client.get(reverse("requests:audit"), **HTMX)
    second = client.get(reverse("requests:audit"), {"before": first.context["next_before"]}, **HTMX)

    shown = [row.request_id for row in [*first.context["rows"], *second.context["rows"]]]
    assert shown == expected[::-1]
    assert len(first.context["rows"]) == 100 and second.context["next_before"] is None
