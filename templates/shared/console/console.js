/* The coordinators' console works without this script. With it:
 * - an announcement's delivery status updates in place while messages are going out (without it,
 *   the page reloads itself through a <noscript> meta refresh);
 * - e-mail previews grow to the height of their content instead of scrolling inside a frame.
 * No text lives here: every word on the page comes from the server, in the coordinator's language. */
(function () {
  "use strict";

  var live = document.getElementById("delivery");
  if (live && live.getAttribute("data-live") === "on" && window.fetch && window.DOMParser) {
    var delay = Math.max(Number(live.getAttribute("data-refresh")) || 3, 1) * 1000;
    var tick = function () {
      fetch(window.location.href, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("delivery");
          if (!fresh) { return; }
          Array.prototype.forEach.call(live.querySelectorAll("[data-swap]"), function (part) {
            var next = fresh.querySelector('[data-swap="' + part.getAttribute("data-swap") + '"]');
            if (next && next.innerHTML !== part.innerHTML) { part.innerHTML = next.innerHTML; }
          });
          // The summary is a live region: changing its text (not replacing it) is what gets announced.
          var summary = document.getElementById("delivery-summary");
          var nextSummary = fresh.querySelector("#delivery-summary");
          if (summary && nextSummary && summary.textContent !== nextSummary.textContent) {
            summary.textContent = nextSummary.textContent;
          }
          live.setAttribute("data-live", fresh.getAttribute("data-live"));
          if (fresh.getAttribute("data-live") === "on") { window.setTimeout(tick, delay); }
        })
        .catch(function () { window.setTimeout(tick, delay * 2); });
    };
    window.setTimeout(tick, delay);
  }

  Array.prototype.forEach.call(document.querySelectorAll("iframe.mail"), function (frame) {
    var fit = function () {
      try {
        var doc = frame.contentDocument;
        if (doc && doc.documentElement) {
          frame.style.height = Math.ceil(doc.documentElement.getBoundingClientRect().height + 2) + "px";
        }
      } catch (e) { /* not readable: keep the fixed height */ }
    };
    frame.addEventListener("load", fit);
    fit();
  });
})();
