// Fills in a submission's tests as the judge streams them (Server-Sent Events).
// Everything from the server is inserted with textContent: learner text never becomes markup.
"use strict";
(function () {
  const table = document.getElementById("tests");
  if (!table || !table.dataset.events || !window.EventSource) {
    return;
  }
  const body = table.tBodies[0];
  const status = document.getElementById("status");
  const verdict = document.getElementById("verdict");
  const score = document.getElementById("score");
  let stream = null;
  let refusals = 0;

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  function onTest(event) {
    const data = JSON.parse(event.data);
    const test = data.test;
    status.textContent = "running";
    const row = document.createElement("tr");
    row.classList.add("judged", "live", "v-" + String(test.verdict).replace(/[^a-z_]/g, ""));
    row.dataset.index = String(data.index);
    const name = cell(row, String(test.name), "name");
    if (!test.visible) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "hidden";
      name.append(" ", tag);
    }
    cell(row, String(test.verdict), "verdict");
    // Earned out of the test's points, as the server writes them: "0 / 1", "1 / 1".
    const points = Number(test.points);
    cell(row, String(test.verdict === "accepted" ? points : 0) + " / " + String(points),
         "points");
    cell(row, test.max_abs_diff == null ? "" : Number(test.max_abs_diff).toPrecision(2));
    const pre = document.createElement("pre");
    pre.className = "message";
    pre.textContent = test.message || "";
    cell(row, "").appendChild(pre);
    // Units are judged visible ones first: keep the report's order on the page.
    const later = Array.from(body.rows).find(function (r) {
      return Number(r.dataset.index) > data.index;
    });
    body.insertBefore(row, later || null);
  }

  function onDone(event) {
    const data = JSON.parse(event.data);
    stream.close();
    status.textContent = "done";
    verdict.textContent = String(data.verdict);
    score.textContent = data.score == null ? "" : Number(data.score).toFixed(2);
    // The full report (diffs, hints, output) is rendered by the server.
    window.setTimeout(function () { window.location.reload(); }, 400);
  }

  function connect() {
    stream = new EventSource(table.dataset.events);
    stream.addEventListener("test", onTest);
    stream.addEventListener("attempt", function () {
      body.replaceChildren();  // the grader died and a new attempt starts over
    });
    stream.addEventListener("done", onDone);
    stream.addEventListener("error", function () {
      // The browser reconnects by itself after a stream that was open ends; not after a
      // refusal (429: this account has too many open streams, e.g. tabs; 503: the server
      // has). Then try again later, from the start: a fresh stream replays every test.
      if (stream.readyState !== EventSource.CLOSED || refusals >= 20) {
        return;
      }
      refusals += 1;
      const wait = Math.min(60, 5 * refusals) * (0.5 + Math.random()) * 1000;
      window.setTimeout(function () {
        body.replaceChildren();
        connect();
      }, wait);
    });
  }

  connect();
})();
