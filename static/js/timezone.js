// The browser's time zone (an IANA name such as "Europe/Berlin"). The sign-up form
// sends it in a hidden field, so dates and streaks are local from the first day; the
// profile page offers to switch its time zone select to it when the two differ.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
    input.value = zone;
  });
  var hint = document.getElementById("time-zone-hint");
  var select = document.getElementById("id_time_zone");
  if (!hint || !select || select.value === zone) return;
  var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
  if (!known) return;
  hint.querySelector("[data-zone]").textContent = zone;
  hint.hidden = false;
  hint.querySelector("button").addEventListener("click", function () {
    select.value = zone;
    hint.hidden = true;
    select.focus();
  });
})();
