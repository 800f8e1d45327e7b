// TVR Dashboard: keyboard triage, select-all, confirmations, focus and announcements after
// in-place updates, and the viewer's time zone.
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

  function page() { return document.body.getAttribute("data-page"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]")); }
  function selected() { return document.querySelector("tr[data-row].selected"); }

  function announce(text) {
    var region = document.getElementById("announce");
    if (!region || !text) { return; }
    // A change of text is what a screen reader reads out: clear first, so a repeat is read too.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-current", "true");
      row.scrollIntoView({ block: "nearest" });
      var link = row.querySelector("a[data-open]");
      if (link) { link.focus({ preventScroll: true }); }
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return false; }
    var index = all.indexOf(selected());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
    return true;
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  function openSelected(hash) {
    var row = selected();
    var link = row && row.querySelector("a[data-open]");
    if (!link) { return false; }
    window.location.href = link.href + (hash || "");
    return true;
  }

  function claim() {
    var form = document.querySelector("form[data-claim]");
    if (!form) { return false; }
    var button = form.querySelector("button");
    var question = button && button.getAttribute("data-confirm");
    if (!question || window.confirm(question)) { form.submit(); }
    return true;
  }

  function approve() {
    var form = document.getElementById("approve-form");
    if (!form) { return false; }
    var field = form.querySelector("input:not([type=hidden]):not([type=radio]):not([type=checkbox])");
    form.scrollIntoView({ block: "nearest" });
    if (field) {
      field.focus();
      // The pre-filled value stays; typing adds to its end.
      try { field.setSelectionRange(field.value.length, field.value.length); } catch (e) { /* numeric inputs */ }
    } else {
      form.querySelector("[data-approve]").focus();
    }
    return true;
  }

  function reject() {
    var panel = document.getElementById("reject-panel");
    if (!panel) { return false; }
    panel.open = true;
    var field = panel.querySelector("select, input:not([type=hidden]), textarea");
    if (field) { field.focus(); }
    return true;
  }

  function acceptSuggestion() {
    var button = document.querySelector("button[data-accept-suggestion]");
    if (!button) { return false; }
    button.click();
    return true;
  }

  function undo() {
    var button = document.querySelector("button[data-undo]");
    if (!button) { return false; }
    button.click();
    return true;
  }

  function help() {
    var dialog = document.getElementById("keys-help");
    if (!dialog) { return false; }
    dialog.showModal();
    return true;
  }

  // What each key does on each page; the help dialog lists the same ones (base.html's keys).
  var KEYS = {
    list: {
      j: function () { return move(1); },
      k: function () { return move(-1); },
      Enter: function (event) { return event.target.closest("a, button") === null && openSelected(); },
      a: function () { return openSelected("#approve"); },
      r: function () { return openSelected("#reject"); },
      c: function () { return openSelected("#claim"); },
      "/": function () {
        var search = document.getElementById("id_q");
        if (!search) { return false; }
        search.focus(); search.select();
        return true;
      }
    },
    detail: { a: approve, r: reject, c: claim, u: undo, y: acceptSuggestion }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var form = event.target.matches && event.target.matches("input, select") ? event.target.form : null;
    if (event.key === "Enter" && form && form.matches("[data-enter-submits]") && !event.isComposing) {
      // Enter in any field of the approve or reject form sends that form, by its own button
      // (never the code tester's, whatever the browser takes as the form's default button).
      var button = form.querySelector(form.getAttribute("data-enter-submits"));
      if (button && !button.disabled) {
        event.preventDefault();
        form.requestSubmit(button);
      }
      return;
    }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    if (event.key === "?") { if (help()) { event.preventDefault(); } return; }
    var action = (KEYS[page()] || {})[event.key];
    if (action && action(event)) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-keys-help]")) { help(); }
    var all = event.target.closest("input[data-select-all]");
    if (all) {
      document.querySelectorAll("input[name=ids][form=bulk]").forEach(function (box) { box.checked = all.checked; });
      countSelected();
    }
    var confirmer = event.target.closest("button[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // Bulk reject: say how many are ticked, on the button that rejects them.
  function countSelected() {
    var count = document.querySelectorAll("input[name=ids][form=bulk]:checked").length;
    document.querySelectorAll("[data-selected-count]").forEach(function (out) {
      out.textContent = count === 1 ? "1 request selected" : count + " requests selected";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[name=ids][form=bulk]")) { countSelected(); }
    // The top bar's Account: choosing one opens it (the Open button does without JavaScript).
    var form = event.target.closest("form[data-autosubmit]");
    if (form) { form.requestSubmit(); }
  });

  // The rule form shows only the fields its request type and action use (all without JS).
  function ruleFields() {
    var form = document.querySelector("form[data-rule-form]");
    if (!form) { return; }
    var type = (form.querySelector("[name=request_type]") || {}).value || "";
    var action = (form.querySelector("[name=action]:checked") || {}).value || "";
    form.querySelectorAll("[data-for-type]").forEach(function (part) {
      part.hidden = type !== "" && part.getAttribute("data-for-type") !== type;
    });
    form.querySelectorAll("[data-for-action]").forEach(function (part) {
      part.hidden = action !== "" && part.getAttribute("data-for-action") !== action;
    });
    form.querySelectorAll("[data-when]").forEach(function (part) {
      var wanted = part.getAttribute("data-when").split("=");
      var field = form.querySelector("[name=" + wanted[0] + "]");
      part.hidden = !!field && field.value !== wanted[1];
    });
  }
  document.addEventListener("DOMContentLoaded", ruleFields);
  document.addEventListener("change", function (event) {
    if (event.target.closest("form[data-rule-form]")) { ruleFields(); }
  });

  // Arriving from the list with a, c or r: do the same here.
  function arrive() {
    if (page() !== "detail") { return; }
    if (location.hash === "#approve") { approve(); }
    if (location.hash === "#reject") { reject(); }
    if (location.hash === "#claim") { history.replaceState(null, "", location.pathname + location.search); claim(); }
  }
  document.addEventListener("DOMContentLoaded", arrive);

  // A page restored from the back/forward cache shows what was true when it was left: after
  // a decision that is stale, so draw it again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { location.reload(); }
  });

  document.body && document.body.addEventListener("htmx:afterSettle", function (event) {
    // The new content itself: after an outerHTML swap event.detail.target is the old,
    // detached element, so nothing was read out or focused.
    var target = event.target;
    if (!target || target.nodeType !== 1 || !target.isConnected) { return; }
    // Read out what the new content says of itself ("45 requests", "Approval queued…").
    var said = target.matches("[data-announce]") ? target : target.querySelector("[data-announce]");
    if (said) { announce(said.textContent.trim()); }
    if (target.id === "decision") {
      // Errors: to the first field to fix, else the message, so focus is never lost on body.
      var focusNext = target.querySelector("[aria-invalid=true]") || target.querySelector("[autofocus]") ||
        target.querySelector("[role=alert]");
      if (focusNext) {
        if (!focusNext.matches("input, select, textarea, button, a")) { focusNext.setAttribute("tabindex", "-1"); }
        focusNext.focus();
      } else if (!target.contains(document.activeElement)) {
        target.setAttribute("tabindex", "-1");
        target.focus();
      }
    }
  });

  document.body && document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form.comment-form")) { form.reset(); }
  });

  // After a decision the selection in a list is stale.
  document.body && document.body.addEventListener("tvr:decided", function () {
    document.querySelectorAll("tr[data-row].selected").forEach(function (r) { r.classList.remove("selected"); });
  });
})();
