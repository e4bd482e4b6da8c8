// Navexa Portal: show that a page is on its way. A click on a link to another page of the portal, or a
// submitted form, marks the page as loading at once (a bar at the top) and the clicked control as busy
// (a period button becomes the current one); clicking a busy control again starts nothing.
// No inline script anywhere: the Content-Security-Policy stays default-src 'self'.
(function () {
  "use strict";
  var root = document.documentElement;

  var wasCurrent = null;  // the period that was current before a click made another one the current one

  function markBusy(control) {
    root.classList.add("is-loading");
    if (control) {
      control.classList.add("is-busy");
      control.setAttribute("aria-busy", "true");
      if (control.closest && control.closest(".periods")) {  // only one period ever looks current
        wasCurrent = document.querySelector(".periods a.current");
        if (wasCurrent && wasCurrent !== control) {
          wasCurrent.classList.remove("current");
          wasCurrent.removeAttribute("aria-current");
        }
        control.classList.add("current");
      }
    }
  }

  function clear() {
    root.classList.remove("is-loading");
    document.querySelectorAll(".is-busy").forEach(function (control) {
      control.classList.remove("is-busy");
      control.removeAttribute("aria-busy");
      if (wasCurrent && control !== wasCurrent && control.closest(".periods")) { control.classList.remove("current"); }
    });
    if (wasCurrent) {
      wasCurrent.classList.add("current");
      wasCurrent.setAttribute("aria-current", "true");
      wasCurrent = null;
    }
  }

  // After a period or sort change the address names the control that was used: focus goes back to it
  // (the browser has scrolled there already), not to the top of the page.
  var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && (target.matches("a[href], [tabindex]"))) {
    target.focus({preventScroll: true});
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

  // "Navexa asks us to slow down": count Retry-After down in one place on the page and try again at zero,
  // unless the person pauses; "Try again now" works throughout. Without this script the page says when to try.
  document.querySelectorAll("[data-countdown]").forEach(function (timer) {
    var left = parseInt(timer.getAttribute("data-countdown"), 10);
    var retry = timer.getAttribute("data-retry");
    var waiting = timer.querySelector("[data-waiting]");
    var pause = document.querySelector("[data-pause]");
    if (!waiting || !retry || !(left > 0)) { return; }
    waiting.innerHTML = "";
    waiting.append("Trying again by itself in ");
    var shown = document.createElement("span");
    shown.className = "seconds";
    shown.textContent = String(left);
    waiting.append(shown, " seconds.");
    timer.setAttribute("role", "timer");
    var tick = window.setInterval(function () {
      left -= 1;
      shown.textContent = String(Math.max(left, 0));
      if (left <= 0) {
        window.clearInterval(tick);
        location.assign(retry);
      }
    }, 1000);
    if (pause) {
      pause.hidden = false;
      pause.addEventListener("click", function () {
        window.clearInterval(tick);
        waiting.textContent = "Paused. Try again whenever you're ready.";
        pause.hidden = true;
      });
    }
  });
})();
