/* Quick exit. Served from /static so the page CSP can stay script-src 'self'.
 * A click on the "Leave this site quickly" link, or Esc pressed twice within
 * a second, replaces this page in history (Back does not return to it) with
 * the link's own href, which the server set from its configuration.
 * Without JavaScript the link still works as a plain link. */
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) {
    return;
  }
  var target = link.href;
  var lastEscape = 0;

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    document.documentElement.className += " leaving";
    window.location.replace(target);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape < 1000) {
      leave(event);
    } else {
      lastEscape = now;
    }
  });

  var hint = document.getElementById("quick-exit-hint");
  if (hint) {
    hint.hidden = false;
  }
})();
