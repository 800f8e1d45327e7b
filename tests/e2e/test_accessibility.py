"""axe-core over every page in a real browser: 0 violations on the list, each tab, a queue,
the detail of each type (open and decided), audit, team, reasons, saved views, preferences,
login, 403 and 404. axe-core is the copy vendored from npm in vendor/, never a CDN."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from requests_app.models import RejectionReason, SavedView, TrackingValueRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def violations(page) -> list[str]:
    """axe-core's violations on the page as it stands, one readable line per element."""
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}: {node['failureSummary']}"
        for v in found
        for node in v["nodes"]
    ]


def first_id(**filters) -> str:
    return (
        TrackingValueRequest.objects.filter(**filters)
        .order_by("impact_id")
        .values_list("impact_id", flat=True)
        .first()
    )


@pytest.fixture
def setup(seeded):
    RejectionReason.objects.create(label="Not our audience", position=0)
    SavedView.objects.create(
        owner=User.objects.get(username="ada"),
        name="Promo codes",
        query="request_type=PROMOCODE_TRACKING",
    )


def reviewer_pages() -> list[tuple[str, str]]:
    promo = first_id(state="NEW", request_type="PROMOCODE_TRACKING")
    return [
        ("list", "/"),
        ("tab-open", "/?state=NEW"),
        ("tab-approved", "/?state=APPROVED"),
        ("tab-completed", "/?state=COMPLETED"),
        ("tab-declined", "/?state=DECLINED"),
        ("tab-all", "/?state=all"),
        ("queue-unassigned", "/?queue=unassigned"),
        ("queue-mine-empty", "/?queue=mine"),
        ("no-match", "/?q=nothing-has-this-word"),
        ("detail-promo", f"/r/{promo}/"),
        (
            "detail-promo-tested",
            f"/r/{promo}/?promo_code=SAVE%5B0-9&match_mode=RE&samples=SAVE1&check=1",
        ),
        ("detail-url", f"/r/{first_id(state='NEW', request_type='BRANDED_URL_TRACKING')}/"),
        ("detail-phone", f"/r/{first_id(state='NEW', request_type='PHONE_NUMBER_TRACKING')}/"),
        ("detail-declined", f"/r/{first_id(state='DECLINED')}/"),
        ("detail-approved", f"/r/{first_id(state__in=['APPROVED', 'COMPLETED'])}/"),
        ("audit", "/audit/"),
        ("team", "/team/"),
        ("saved-views", "/views/"),
        ("preferences", "/preferences/"),
        ("rules", "/rules/"),
        ("deadlines", "/deadlines/"),
        ("404", "/r/no-such-request/"),
    ]


def test_every_page_a_reviewer_sees_has_no_axe_violations(sign_in, live_server, setup):
    page = sign_in("alice", bypass_csp=True)
    failures: dict[str, list[str]] = {}
    for name, path in reviewer_pages():
        page.goto(f"{live_server.url}{path}")
        if name == "detail-promo":
            page.click("#reject-panel summary")  # the reject form and the deal fields open too
            page.click(".deal-fields summary")
        shot(page, f"a11y-{name}")
        if found := violations(page):
            failures[name] = found
    page.goto(f"{live_server.url}/")
    page.keyboard.press("?")
    if found := violations(page):
        failures["keys-help"] = found

    # What htmx swaps in: an approve refused with its errors, then the next request opened
    # by itself with the notice of the one decided.
    page.goto(f"{live_server.url}/r/{first_id(state='NEW', request_type='BRANDED_URL_TRACKING')}/")
    page.click("[data-approve]")
    page.wait_for_selector("#id_url_id[aria-invalid=true]")
    if found := violations(page):
        failures["detail-approve-error"] = found
    page.fill("#id_url_id", "4242")
    page.click("[data-approve]")
    page.wait_for_selector("#notice")
    shot(page, "a11y-detail-next-with-notice")
    if found := violations(page):
        failures["detail-next-with-notice"] = found
    view = SavedView.objects.get(name="Promo codes")
    page.goto(f"{live_server.url}/views/{view.pk}/delete/")
    if found := violations(page):
        failures["saved-view-delete"] = found
    assert failures == {}


def test_the_phone_layout_has_no_axe_violations(sign_in, live_server, setup):
    page = sign_in("alice", width=390, bypass_csp=True)
    failures = {}
    for name, path in [("phone-list", "/"), ("phone-detail", reviewer_pages()[9][1])]:
        page.goto(f"{live_server.url}{path}")
        if found := violations(page):
            failures[name] = found
    assert failures == {}


def admin_rule():
    """A suggesting rule on promo codes: its page shows a dry run with rows."""
    from requests_app import impact
    from requests_app.models import Rule

    rule, _ = Rule.objects.get_or_create(
        account_sid=impact.default_account_sid(),
        name="Suggest the requested code",
        defaults={
            "request_type": "PROMOCODE_TRACKING",
            "action": "approve",
            "mode": "suggest",
            "code_source": "requested",
            "credit_policy": "INVOLVED",
            "match_mode": "LI",
        },
    )
    return rule


def test_admin_pages_the_refusal_and_the_login_have_no_axe_violations(
    sign_in, browser, live_server, setup
):
    failures: dict[str, list[str]] = {}
    admin = sign_in("ada", bypass_csp=True)
    for name, path in [
        ("reasons", "/reasons/"),
        ("saved-views-own", "/views/"),
        ("audit-admin", "/audit/"),
        ("rules-admin", "/rules/"),
        ("rule-new", "/rules/new/"),
        ("rule-dry-run", f"/rules/{admin_rule().pk}/"),
        ("deadlines-admin", "/deadlines/"),
        ("team-admin", "/team/"),
    ]:
        admin.goto(f"{live_server.url}{path}")
        shot(admin, f"a11y-{name}")
        if found := violations(admin):
            failures[name] = found

    viewer = sign_in("vera", bypass_csp=True)
    viewer.goto(f"{live_server.url}/reasons/")
    shot(viewer, "a11y-403")
    if found := violations(viewer):
        failures["403"] = found

    context = browser.new_context(bypass_csp=True)
    try:
        anonymous = context.new_page()
        anonymous.goto(f"{live_server.url}/accounts/login/")
        shot(anonymous, "a11y-login")
        if found := violations(anonymous):
            failures["login"] = found
    finally:
        context.close()
    assert failures == {}


FOCUS_RING = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => v / 255)
      .map((v) => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const el = document.activeElement;
  const style = getComputedStyle(el);
  // What the ring sits on (it is drawn outside the element): the nearest painted background.
  let under = el.parentElement, bg = [255, 255, 255];
  while (under) {
    const c = rgb(getComputedStyle(under).backgroundColor);
    if (c.length === 3 || c[3] > 0) { bg = c.slice(0, 3); break; }
    under = under.parentElement;
  }
  const ring = rgb(style.outlineColor).slice(0, 3);
  const [hi, lo] = [lum(ring), lum(bg)].sort((a, b) => b - a);
  return {what: el.outerHTML.slice(0, 80), style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), ratio: (hi + 0.05) / (lo + 0.05)};
}"""


@pytest.mark.parametrize("where", ["list", "detail"])
def test_the_focus_ring_is_at_least_3_to_1_on_what_it_sits_on(sign_in, live_server, where):
    page = sign_in("alice")
    if where == "detail":
        page.goto(
            f"{live_server.url}/r/{first_id(state='NEW', request_type='PROMOCODE_TRACKING')}/"
        )
    page.wait_for_load_state("networkidle")
    weak = []
    for _ in range(45):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last field: the browser's own controls are next
        ring = page.evaluate(FOCUS_RING)
        if ring["style"] == "none" or ring["width"] < 2 or ring["ratio"] < 3:
            weak.append(ring)
    assert weak == []
