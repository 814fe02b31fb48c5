/* The review-before-submit page: the running clock (at zero the attempt is
 * submitted, as on the exam page), and a warning about answers this device
 * queued on the exam page but has not delivered yet. */
(function () {
  "use strict";
  var box = document.getElementById("unsaved-answers");
  if (box) {
    var queue = [];
    try { queue = JSON.parse(localStorage.getItem("exam-queue-" + box.dataset.attempt) || "[]"); } catch (e) { queue = []; }
    if (queue.length) {
      var numbers = queue.map(function (e) { return Number(e.position) + 1; }).sort(function (a, b) { return a - b; });
      box.textContent = "Not saved yet: this device still holds your answer" + (numbers.length > 1 ? "s to questions " : " to question ") +
        numbers.join(", ") + ". Go back to the questions to send " + (numbers.length > 1 ? "them" : "it") +
        " before you submit; an answer that never reaches the server is not part of your result.";
      box.hidden = false;
    }
  }

  var timer = document.getElementById("review-timer");
  if (!timer) return;
  var deadline = performance.now() + Number(timer.dataset.remaining) * 1000;
  var done = false;
  function format(seconds) {
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
