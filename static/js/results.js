/* Results page: report answers this device queued but never delivered (for
 * example, offline when time ran out), then forget them. */
(function () {
  "use strict";
  var box = document.getElementById("leftover-answers");
  if (!box) return;
  var key = "exam-queue-" + box.dataset.attempt;
  var queue = [];
  try { queue = JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { queue = []; }
  if (!queue.length) return;
  var numbers = queue.map(function (e) { return Number(e.position) + 1; }).sort(function (a, b) { return a - b; });
  box.textContent = "Not saved: this device still held answers for question" + (numbers.length > 1 ? "s " : " ") +
    numbers.join(", ") + " that never reached the server before time was up. They are not part of this result.";
  box.hidden = false;
  try { localStorage.removeItem(key); } catch (e) {}
})();
