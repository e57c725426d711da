// Operations pages (docs/ui.md#operations): a button with data-copy="<input id>" copies that input's value (the new
// API key, shown once) to the clipboard and says so in its own live region. Without a clipboard (an http:// page
// that is not localhost), the key is selected so the user can copy it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!field) return;
    function say(text) { if (status) status.textContent = text; }
    function manual() { field.focus(); field.select(); say("Selected: copy it with Ctrl+C (⌘C)."); }
    if (!navigator.clipboard || !window.isSecureContext) { manual(); return; }
    navigator.clipboard.writeText(field.value).then(function () { say("Copied to the clipboard."); }, manual);
  });
})();
