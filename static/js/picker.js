// Picking a value from an approve form's tracking-value picker fills its id field.
(function () {
  "use strict";
  if (window.tvrPicker) { return; }
  window.tvrPicker = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-pick-target]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-pick-target"));
    if (!input) { return; }
    input.value = button.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    var list = button.closest(".picker-options");
    if (list) {
      list.querySelectorAll("[aria-pressed]").forEach(function (b) { b.removeAttribute("aria-pressed"); });
    }
    button.setAttribute("aria-pressed", "true");
    input.focus();
  });
})();
