// Navexa Portal: show that a page is on its way. A click on a link to another page of the portal, or a
// submitted form, marks the page as loading at once (a bar at the top) and the clicked control as busy
// (a period button becomes the current one); clicking a busy control again starts nothing.
// No inline script anywhere: the Content-Security-Policy stays default-src 'self'.
(function () {
  "use strict";
  var root = document.documentElement;

  function markBusy(control) {
    root.classList.add("is-loading");
    if (control) {
      control.classList.add("is-busy");
      control.setAttribute("aria-busy", "true");
    }
  }

  function clear() {
    root.classList.remove("is-loading");
    document.querySelectorAll(".is-busy").forEach(function (control) {
      control.classList.remove("is-busy");
      control.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey || link.hasAttribute("download") || (link.target && link.target !== "_self")) {
      return;
    }
    var url = new URL(link.href, location.href);
    if (url.origin !== location.origin || (url.hash && url.pathname === location.pathname && url.search === location.search)) {
      return;
    }
    if (link.classList.contains("is-busy")) {
      event.preventDefault();  // already on its way: a second click would only load it twice
      return;
    }
    markBusy(link);
  });

  document.addEventListener("submit", function (event) {
    var control = event.submitter || event.target;
    if (control.classList.contains("is-busy")) {
      event.preventDefault();
      return;
    }
    markBusy(control);
  });

  // Back and forward may show this page again from the browser's cache: as it is, not loading.
  window.addEventListener("pageshow", clear);

  // "Navexa asks us to slow down": count Retry-After down; the page's meta refresh retries at zero, and
  // "Try again" appears only then (not earlier, when it could only be refused again).
  document.querySelectorAll("[data-countdown]").forEach(function (timer) {
    var left = parseInt(timer.getAttribute("data-countdown"), 10);
    var shown = timer.querySelector(".seconds");
    var tick = window.setInterval(function () {
      left -= 1;
      if (shown) { shown.textContent = String(Math.max(left, 0)); }
      if (left <= 0) {
        window.clearInterval(tick);
        document.querySelectorAll("[data-after-countdown]").forEach(function (link) { link.hidden = false; });
      }
    }, 1000);
  });
})();
