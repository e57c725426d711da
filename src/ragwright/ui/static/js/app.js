// ragwright web UI: the little script every page loads (docs/ui.md). Page scripts go in their own files.
// - window.ragwright.csrf: the session's CSRF token, for a page's own fetch() (htmx sends it by itself, from the
//   hx-headers on <body>).
// - a failed htmx request (4xx/5xx, network) is announced in the #flash live region instead of failing silently.
(function () {
  "use strict";
  var body = document.body;
  window.ragwright = { csrf: (body && body.dataset.csrf) || "" };

  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    window.clearTimeout(flash.timer);
    flash.timer = window.setTimeout(function () { box.textContent = ""; }, 8000);
  }
  window.ragwright.flash = flash;

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = xhr.getResponseHeader("X-Error-Message");
    flash(message || ("The request failed (" + xhr.status + "). Try again, or reload the page."));
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Check the connection and try again.");
  });
})();
