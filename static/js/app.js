// TVR Dashboard: keyboard triage, select-all, confirmations and the viewer's time zone.
// Everything here is an enhancement: links and forms work without it.
(function () {
  "use strict";

  // With JavaScript the code tester reads the approve form's fields: hide its own copies.
  document.documentElement.classList.add("js");

  // Tell the server the browser's time zone so dates show in local time.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var cookie = "tz=" + encodeURIComponent(zone || "");
    if (zone && ("; " + document.cookie + ";").indexOf("; " + cookie + ";") === -1) {
      document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
      // This page was drawn in the server's zone: draw it again in the viewer's (once the
      // browser kept the cookie, so a browser that refuses cookies does not reload forever).
      var kept = ("; " + document.cookie + ";").indexOf("; " + cookie + ";") !== -1;
      if (kept && document.body && document.body.hasAttribute("data-zone-default")) { location.reload(); }
    }
  } catch (e) { /* old browser: server default zone */ }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]")); }
  function selected() { return document.querySelector("tr[data-row].selected"); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
      var link = row.querySelector("a[data-open]");
      if (link) { link.focus({ preventScroll: true }); }
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  function openSelected(suffix) {
    var row = selected();
    var link = row && row.querySelector("a[data-open]");
    if (link) { window.location.href = link.href + (suffix || ""); }
  }

  function claim() {
    var form = document.querySelector("form[data-claim]");
    if (form) {
      var button = form.querySelector("button");
      var question = button && button.getAttribute("data-confirm");
      if (!question || window.confirm(question)) { form.submit(); }
    }
  }

  function approve() {
    var form = document.getElementById("approve-form");
    if (!form) { return false; }
    var field = form.querySelector("input:not([type=hidden]):not([type=radio])");
    (field || form.querySelector("[data-approve]")).focus();
    form.scrollIntoView({ block: "nearest" });
    return true;
  }

  function reject() {
    var panel = document.getElementById("reject-panel");
    if (!panel) { return false; }
    panel.open = true;
    var field = panel.querySelector("select, input, textarea");
    if (field) { field.focus(); }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var help = document.getElementById("keys-help");
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var page = document.body.getAttribute("data-page");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        if (page === "list" && selected() && event.target.closest("a, button") === null) { openSelected(); } else { return; }
        break;
      case "/": {
        var search = document.getElementById("id_q");
        if (!search) { return; }
        search.focus(); search.select();
        break;
      }
      case "c": if (page === "detail") { claim(); } else if (page === "list") { openSelected("#claim"); } break;
      case "a": if (page === "detail") { if (!approve()) { return; } } else if (page === "list") { openSelected("#approve"); } break;
      case "r": if (page === "detail") { if (!reject()) { return; } } else if (page === "list") { openSelected("#reject"); } break;
      case "?": if (help) { help.showModal(); } break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-keys-help]");
    if (opener) { document.getElementById("keys-help").showModal(); }
    var all = event.target.closest("input[data-select-all]");
    if (all) {
      document.querySelectorAll("input[name=ids][form=bulk]").forEach(function (box) { box.checked = all.checked; });
    }
    var confirmer = event.target.closest("button[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // Arriving from the list with a, c or r: do the same here.
  function arrive() {
    if (document.body.getAttribute("data-page") !== "detail") { return; }
    if (location.hash === "#approve") { approve(); }
    if (location.hash === "#reject") { reject(); }
    if (location.hash === "#claim") { history.replaceState(null, "", location.pathname); claim(); }
  }
  document.addEventListener("DOMContentLoaded", arrive);

  // After a decision the list in another tab or on return is stale: htmx tells us; refresh the nav.
  document.body && document.body.addEventListener("tvr:decided", function () {
    document.querySelectorAll("tr[data-row].selected").forEach(function (r) { r.classList.remove("selected"); });
  });
})();
