/* The exam page: server-owned clock, an ordered save queue that survives
 * refreshes and dropped networks, keyboard shortcuts. No inline handlers,
 * no eval: this file is the page's only script besides htmx. */
(function () {
  "use strict";
  var exam = document.getElementById("exam");
  if (!exam) return;

  var attemptId = exam.dataset.attempt;
  var csrf = (document.querySelector("#auto-submit-form [name=csrfmiddlewaretoken]") || {}).value || "";
  var storeKey = "exam-queue-" + attemptId;
  /* Elements are looked up on each use: htmx may restore the page body from its
   * history cache (Back while offline), replacing them. */
  function el(id) { return document.getElementById(id); }
  var queue = load();
  var seqs = {};
  var refused = {};
  var sending = false;
  var retryDelay = 1000;
  var submitting = false;

  queue.forEach(function (e) { seqs[e.position] = Math.max(seqs[e.position] || 0, e.seq); });

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }
  function persist() {
    try { localStorage.setItem(storeKey, JSON.stringify(queue)); } catch (e) { /* private mode: memory only */ }
  }
  var lastStatus = ["All answers saved", "saved"];
  function setStatus(text, state) {
    lastStatus = [text, state];
    var statusEl = el("save-status");
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.dataset.state = state;
  }
  function navItem(position) {
    return document.querySelector('[data-nav-position="' + position + '"]');
  }
  function markAnswered(position, answered) {
    var nav = navItem(position);
    if (nav) nav.classList.toggle("answered", answered);
  }
  function showRefused(position, message) {
    var nav = navItem(position);
    if (nav) nav.classList.add("refused");
    setStatus("Not saved: " + message, "refused");
  }

  /* ---- saving ---- */
  function enqueue(form) {
    var position = form.dataset.position;
    var seq = Math.max(Number(form.dataset.seq) + 1, (seqs[position] || 0) + 1, Date.now());
    seqs[position] = seq;
    form.dataset.seq = seq;
    var tokens = Array.prototype.map.call(form.querySelectorAll("input[name=choice]:checked"), function (i) { return i.value; });
    queue = queue.filter(function (e) { return e.position !== position; });
    queue.push({ url: form.dataset.saveUrl, position: position, tokens: tokens, seq: seq });
    persist();
    markAnswered(position, tokens.length > 0);
    flush();
  }

  function body(entry) {
    var data = new URLSearchParams();
    data.append("seq", String(entry.seq));
    entry.tokens.forEach(function (t) { data.append("choice", t); });
    return data;
  }

  function flush() {
    if (sending) return;
    if (!queue.length) {
      if (!Object.keys(refused).length) setStatus("All answers saved", "saved");
      if (leaving) window.location.assign(leaving);
      return;
    }
    sending = true;
    var entry = queue[0];
    setStatus("Saving…", "saving");
    fetch(entry.url, {
      method: "POST", body: body(entry), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        sending = false;
        if (response.ok || response.status === 409 || response.status === 422) {
          queue = queue.filter(function (e) { return !(e.position === entry.position && e.seq === entry.seq); });
          persist();
          retryDelay = 1000;
          if (typeof data.remaining === "number") syncClock(data.remaining);
          if (response.ok || data.status === "stale") {
            delete refused[entry.position];
          } else {
            refused[entry.position] = data.message || "refused";
            showRefused(entry.position, refused[entry.position]);
            if (data.status === "too_late" || data.status === "closed") return finish();
          }
          flush();
        } else {
          retry(response.status === 403 ? "session expired? reload the page" : "server error " + response.status);
        }
      });
    }).catch(function () {
      sending = false;
      retry("no connection");
    });
  }

  function retry(reason) {
    setStatus("Not saved (" + reason + "), retrying…", "error");
    setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  /* Closing the tab: hand pending saves to the browser; they are also still in
   * localStorage and are re-sent (and deduplicated by seq) on the next visit. */
  window.addEventListener("pagehide", function () {
    if (!navigator.sendBeacon) return;
    queue.forEach(function (entry) {
      var data = body(entry);
      data.append("csrfmiddlewaretoken", csrf);
      navigator.sendBeacon(entry.url, data);
    });
  });
  window.addEventListener("online", flush);

  /* "Review and submit" waits for queued answers, so the review page lists
   * what the server holds. If saving keeps failing, a second click goes anyway
   * (that page then says which answers are still only on this device). */
  var leaving = null;
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("#review-link") : null;
    if (!link || !queue.length || leaving) return;
    event.preventDefault();
    leaving = link.href;
    setStatus("Saving your answers before the review…", "saving");
    flush();
  });

  /* ---- the clock: the server's remaining seconds, corrected on every response ---- */
  var timed = !!el("timer");
  var deadline = null;
  var announced = {};

  function syncClock(remaining) {
    if (!timed || remaining === null || remaining === undefined) return;
    deadline = performance.now() + Number(remaining) * 1000;
  }
  function format(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    if (deadline === null) return;
    var left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
    var timer = el("timer"), timerText = el("timer-text"), announce = el("timer-announce");
    if (!timer || !timerText) return;
    timerText.textContent = format(left);
    timer.dataset.low = left <= 300 ? "1" : "0";
    [300, 60].forEach(function (mark) {
      if (left <= mark && left > 0 && !announced[mark] && announce) {
        announced[mark] = true;
        announce.textContent = (mark / 60) + " minute" + (mark > 60 ? "s" : "") + " left.";
      }
    });
    if (left <= 0) finish();
  }
  function checkClock() {
    fetch(exam.dataset.clockUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.open) { window.location.assign(exam.dataset.resultsUrl); return; }
        syncClock(data.remaining);
      }).catch(function () { /* offline: keep counting locally */ });
  }
  /* Time is up: give queued saves a moment (they are accepted within the grace
   * period), then submit. The server refuses anything later. */
  function finish() {
    if (submitting) return;
    submitting = true;
    (function wait() {
      if (queue.length) {
        /* Offline or failing: keep the answers and keep trying. The server accepts
         * them within the grace period and refuses later ones, which the page shows. */
        setStatus(navigator.onLine ? "Time is up: sending your last answers…" : "Time is up: waiting for the connection to send your last answers…", "error");
        flush();
        setTimeout(wait, 500);
        return;
      }
      var late = Object.keys(refused).map(function (p) { return Number(p) + 1; }).sort(function (a, b) { return a - b; });
      if (late.length) {
        /* Submit in the background and stay, so the learner sees what was refused. */
        var form = new FormData(el("auto-submit-form"));
        fetch(exam.dataset.submitUrl, { method: "POST", body: form, credentials: "same-origin", redirect: "manual" })
          .catch(function () { /* the server finalises expired attempts by itself */ });
        setStatus("Not saved, time was up: question" + (late.length > 1 ? "s " : " ") + late.join(", ") + ". Your attempt is submitted without them.", "refused");
        var button = el("see-results");
        if (button) button.hidden = false;
        return;
      }
      setStatus("Time is up: submitting…", "saving");
      el("auto-submit-form").submit();
    })();
  }
  if (timed) {
    syncClock(Number(el("timer").dataset.remaining));
    tick();
    setInterval(tick, 250);
    setInterval(checkClock, 60000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) checkClock(); });
  }

  /* ---- answering ---- */
  function enforceLimit(form) {
    var choose = Number(form.dataset.choose || "1");
    var boxes = form.querySelectorAll("input[type=checkbox][name=choice]");
    if (!boxes.length) return;
    var checked = form.querySelectorAll("input[type=checkbox][name=choice]:checked").length;
    var locked = form.dataset.locked === "1";
    boxes.forEach(function (b) { b.disabled = locked || (!b.checked && checked >= choose); });
    var count = document.getElementById("choose-count");
    if (count) count.textContent = checked + " of " + choose + " chosen";
  }

  /* After a swap, show what this tab knows better than the server: pending saves and refusals. */
  function applyState() {
    var form = document.getElementById("answer-form");
    if (!form) return;
    var position = form.dataset.position;
    var pending = queue.filter(function (e) { return e.position === position; }).pop();
    if (pending) {
      form.querySelectorAll("input[name=choice]").forEach(function (i) { i.checked = pending.tokens.indexOf(i.value) !== -1; });
    }
    if (seqs[position]) form.dataset.seq = Math.max(Number(form.dataset.seq), seqs[position]);
    queue.forEach(function (e) { markAnswered(e.position, e.tokens.length > 0); });
    Object.keys(refused).forEach(function (p) { var nav = navItem(p); if (nav) nav.classList.add("refused"); });
    if (document.querySelector("#check-result .review-options")) lockChecked(form);
    enforceLimit(form);
  }

  /* Practice: a checked answer is final on the server, so it is final here too. */
  function lockChecked(form) {
    form.dataset.locked = "1";
    form.querySelectorAll("input[name=choice]").forEach(function (i) { i.disabled = true; });
    var button = el("check-button");
    if (button) button.disabled = true;
  }

  /* "Check answer" is sent once this tab's queued answers are saved: the server
   * checks the answer it holds, which must be the one on screen. */
  document.body.addEventListener("htmx:confirm", function (event) {
    var source = event.detail.elt;
    if (!source || !source.querySelector || !source.querySelector("#check-button") || !queue.length) return;
    event.preventDefault();
    setStatus("Saving your answer before checking it…", "saving");
    (function wait() {  /* the queue drains by itself: retries, and the "online" event */
      if (!document.body.contains(source)) return;  /* moved to another question: no check */
      if (!queue.length) { event.detail.issueRequest(true); return; }
      setTimeout(wait, 200);
    })();
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name === "shortcuts" || input.id === "shortcuts-toggle") {
      try { localStorage.setItem("exam-shortcuts", input.checked ? "on" : "off"); } catch (e) {}
      return;
    }
    if (input.name !== "choice") return;
    var form = input.closest("#answer-form");
    if (!form || form.dataset.locked === "1") return;
    enforceLimit(form);
    enqueue(form);
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "answer-form") { event.preventDefault(); enqueue(event.target); }
  });
  document.body.addEventListener("htmx:afterSwap", applyState);
  document.body.addEventListener("htmx:historyRestore", function () {
    applyState();
    setStatus(lastStatus[0], lastStatus[1]);
    tick();
  });
  document.body.addEventListener("htmx:sendError", function () { setStatus("No connection: could not load that question", "error"); });

  /* ---- keyboard shortcuts ---- */
  var stored = null;
  try { stored = localStorage.getItem("exam-shortcuts"); } catch (e) {}
  if (el("shortcuts-toggle") && stored) el("shortcuts-toggle").checked = stored === "on";
  document.addEventListener("keydown", function (event) {
    var toggle = el("shortcuts-toggle");
    if (!toggle || !toggle.checked) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "select" || (tag === "input" && event.target.type !== "radio" && event.target.type !== "checkbox")) return;
    var key = event.key.toLowerCase();
    var target = null;
    if (/^[1-9]$/.test(key)) {
      var inputs = document.querySelectorAll("#answer-form input[name=choice]");
      target = inputs[Number(key) - 1];
      if (target && !target.disabled) { target.click(); event.preventDefault(); }
      return;
    }
    if (key === "n") target = document.getElementById("next-link");
    else if (key === "p") target = document.getElementById("prev-link");
    else if (key === "f") target = document.getElementById("flag-button");
    if (target) { target.click(); event.preventDefault(); }
  });

  applyState();
  flush();
})();
