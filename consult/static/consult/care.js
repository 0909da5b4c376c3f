// The check-in countdown on the family's visit pages. The server stays the authority: when
// the countdown reaches zero the page reloads, and the server decides whether check-in is
// open (the button is drawn only then).
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick(clock, opens) {
    var left = Math.max(0, Math.round((opens - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    clock.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
    return left;
  }
  function start() {
    var clocks = document.querySelectorAll(".countdown-clock[datetime]");
    if (!clocks.length) return;
    var reloading = false;
    var timer = setInterval(function () {
      clocks.forEach(function (clock) {
        var opens = Date.parse(clock.getAttribute("datetime"));
        if (isNaN(opens)) return;
        if (tick(clock, opens) === 0 && !reloading) {
          reloading = true;
          clearInterval(timer);
          // A second's grace so the server's clock agrees the window is open.
          setTimeout(function () { window.location.reload(); }, 1500);
        }
      });
    }, 1000);
    clocks.forEach(function (clock) {
      var opens = Date.parse(clock.getAttribute("datetime"));
      if (!isNaN(opens)) tick(clock, opens);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
