/* The pages that end an attempt. Both name the answers this device queued on the
 * exam page but never delivered (they are still in localStorage):
 *  - review before submitting: still in time, so go back and send them; the clock
 *    runs here too, and at zero the attempt is submitted, as on the exam page;
 *  - results: too late, so they are named once and then forgotten. */
(function () {
  "use strict";
  function unsent(attemptId) {
    var queue = [];
    try { queue = JSON.parse(localStorage.getItem("exam-queue-" + attemptId) || "[]"); } catch (e) { queue = []; }
    return queue.map(function (e) { return Number(e.position) + 1; }).sort(function (a, b) { return a - b; });
  }
  function questions(numbers) {
    return (numbers.length > 1 ? "questions " : "question ") + numbers.join(", ");
  }

  var pending = document.getElementById("unsaved-answers");
  if (pending) {
    var waiting = unsent(pending.dataset.attempt);
    if (waiting.length) {
      pending.textContent = "Not saved yet: this device still holds your answer" + (waiting.length > 1 ? "s" : "") +
        " to " + questions(waiting) + ". Go back to the questions to send " + (waiting.length > 1 ? "them" : "it") +
        " before you submit; an answer that never reaches the server is not part of your result.";
      pending.hidden = false;
    }
  }

  var leftover = document.getElementById("leftover-answers");
  if (leftover) {
    var lost = unsent(leftover.dataset.attempt);
    if (lost.length) {
      leftover.textContent = "Not saved: this device still held answers for " + questions(lost) +
        " that never reached the server before time was up. They are not part of this result.";
      leftover.hidden = false;
      try { localStorage.removeItem("exam-queue-" + leftover.dataset.attempt); } catch (e) {}
    }
  }

  var timer = document.getElementById("review-timer");
  if (!timer) return;
  var deadline = performance.now() + Number(timer.dataset.remaining) * 1000;
  var done = false;
  function format(seconds) {  /* as exam.js shows it */
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    var left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
    timer.textContent = format(left);
    if (left <= 0 && !done) {
      done = true;
      document.getElementById("auto-submit-form").submit();
    }
  }
  tick();
  setInterval(tick, 250);
})();
