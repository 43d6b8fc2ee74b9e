// The teacher's live page. Every text from the server is written with textContent or as an
// attribute value, never as markup: a check message holding <script> shows as text.
"use strict";

(function () {
  const L = JSON.parse(document.getElementById("labels").textContent);
  const CONFIG = JSON.parse(document.getElementById("config").textContent);
  const SYMBOL = { passed: "✔", failed: "✘", skipped: "○", error: "⚠", never: "·" };
  const SVG = "http://www.w3.org/2000/svg";
  const labSelect = document.getElementById("lab");
  const sourceSelect = document.getElementById("source");
  let data = null;
  let refreshTimer = null;
  let stream = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
  }

  function ago(iso) {
    if (!iso) return "–";
    const minutes = Math.floor((Date.now() - Date.parse(iso)) / 60000);
    return minutes < 1 ? L.just_now : fill(L.minutes_ago, { m: minutes });
  }

  function points(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  function query(extra) {
    const params = new URLSearchParams({ lab: labSelect.value, source: sourceSelect.value });
    for (const [key, value] of Object.entries(extra || {})) params.set(key, value);
    return params.toString();
  }

  // -- the grid ------------------------------------------------------------------------------
  function renderHead() {
    const head = document.getElementById("grid-head");
    head.replaceChildren(
      el("th", { scope: "col" }, L.student),
      el("th", { scope: "col" }, L.score),
      el("th", { scope: "col" }, L.attempts),
      el("th", { scope: "col" }, L.last),
      ...data.checks.map((check) =>
        el("th", { scope: "col", title: check.title, class: "check" }, el("span", {}, check.id)),
      ),
    );
  }

  function cellFor(row, check) {
    const cell = row.cells[check.id];
    const status = cell ? cell.status : "never";
    const observed = cell && cell.source === "observed";
    const tip = [L[status] + (cell ? " (" + L[cell.source] + ")" : "")];
    if (cell && cell.message) tip.push(cell.message);
    const stuck = row.stuck.includes(check.id);
    return el(
      "td",
      {
        class: "cell s-" + status + (observed ? " observed" : "") + (stuck ? " stuck-cell" : ""),
        "data-check": check.id,
        "data-status": status,
        "data-source": cell ? cell.source : "",
        title: tip.join("\n"),
      },
      SYMBOL[status],
    );
  }

  function rowFor(row) {
    const name = el("button", { class: "student", type: "button" }, row.student);
    name.addEventListener("click", () => openTimeline(row.student));
    const flags = [];
    if (row.variant_ok === false) flags.push(el("span", { class: "flag", title: L.variant_mismatch }, "≠"));
    const score = row.attempts ? points(row.score) + "/" + points(row.max_score) : "–";
    const attempts = row.attempts
      ? el("span", { title: row.reported + " " + L.reported + " · " + row.observed + " " + L.observed }, row.attempts)
      : "0";
    return el(
      "tr",
      { "data-student": row.student, class: row.stuck.length ? "stuck" : "" },
      el("th", { scope: "row" }, name, ...flags),
      el("td", { class: "score" }, score),
      el("td", { class: "attempts" }, attempts),
      el("td", { class: "last", "data-at": row.last_at || "" }, ago(row.last_at)),
      ...data.checks.map((check) => cellFor(row, check)),
    );
  }

  function renderRows() {
    document.getElementById("grid-body").replaceChildren(...data.rows.map(rowFor));
  }

  function updateRow(row) {
    const index = data.rows.findIndex((r) => r.student === row.student);
    if (index < 0) return;
    data.rows[index] = row;
    const old = document.querySelector('#grid-body tr[data-student="' + CSS.escape(row.student) + '"]');
    if (old) old.replaceWith(rowFor(row));
  }

  // -- stuck, per check ----------------------------------------------------------------------
  function renderStuck() {
    const titles = Object.fromEntries(data.checks.map((c) => [c.id, c.title]));
    const count = document.getElementById("stuck-count");
    count.textContent = "(" + data.stuck.length + ")";
    count.title = "≥ " + CONFIG.stuck_attempts + " / " + CONFIG.stuck_minutes + " min";
    const list = document.getElementById("stuck");
    if (!data.stuck.length) {
      list.replaceChildren(el("li", { class: "none" }, L.nobody_stuck));
      return;
    }
    list.replaceChildren(
      ...data.stuck.map((s) =>
        el(
          "li",
          { "data-student": s.student, "data-check": s.check },
          el("strong", {}, s.student),
          " — ",
          el("span", { class: "check-id", title: titles[s.check] || "" }, s.check),
          " — ",
          fill(L.failed_n_times, { n: s.attempts, m: Math.round(s.minutes) }),
          s.message ? el("div", { class: "message" }, s.message) : null,
        ),
      ),
    );
  }

  function sparkline(series) {
    const width = 160, height = 36;
    const box = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, class: "spark" });
    box.append(svg("rect", { x: 0, y: 0, width, height, class: "spark-bg" }));
    if (series.length) {
      const t0 = Date.parse(series[0][0]);
      const t1 = Math.max(Date.parse(series[series.length - 1][0]), t0 + 60000);
      const xy = series.map(([t, rate]) => [
        ((Date.parse(t) - t0) / (t1 - t0)) * (width - 4) + 2,
        height - 2 - rate * (height - 4),
      ]);
      if (xy.length === 1) xy.push([width - 2, xy[0][1]]);
      box.append(svg("polyline", { points: xy.map((p) => p.join(",")).join(" "), class: "spark-line" }));
    }
    return box;
  }

  function renderPerCheck() {
    const titles = Object.fromEntries(data.checks.map((c) => [c.id, c.title]));
    document.getElementById("per-check").replaceChildren(
      ...data.per_check.map((check) => {
        const messages = check.messages.length
          ? el(
              "ol",
              { class: "messages" },
              ...check.messages.map((m) =>
                el(
                  "li",
                  { title: m.students.join(", ") },
                  el("span", { class: "count" }, m.count + " " + L.students_n),
                  " ",
                  el("span", { class: "message" }, m.text),
                ),
              ),
            )
          : el("p", { class: "none" }, L.no_failure);
        return el(
          "article",
          { class: "check-card", "data-check": check.id },
          el("h3", {}, check.id, " ", el("small", {}, titles[check.id] || "")),
          el(
            "div",
            { class: "rate" },
            sparkline(check.series),
            el("span", {}, Math.round(check.pass_rate * 100) + " % " + L.pass_rate + " (" + check.passed + "/" + check.tried + ")"),
          ),
          messages,
        );
      }),
    );
  }

  function renderLegend() {
    document.getElementById("legend").replaceChildren(
      ...["passed", "failed", "skipped", "error", "never"].map((s) =>
        el("span", { class: "cell s-" + s }, SYMBOL[s] + " " + L[s]),
      ),
      el("span", { class: "cell observed" }, "▢ " + L.source_observed),
    );
  }

  function renderExports() {
    document.getElementById("export-best").href = "/export/gradebook.csv?" + query({ pick: "best" });
    document.getElementById("export-last").href = "/export/gradebook.csv?" + query({ pick: "last" });
    document.getElementById("export-all").href = "/export/attempts.json?lab=" + encodeURIComponent(labSelect.value);
  }

  async function load() {
    const answer = await fetch("/api/class?" + query(), { credentials: "same-origin" });
    if (answer.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (!answer.ok) return;
    data = await answer.json();
    renderHead();
    renderRows();
    renderStuck();
    renderPerCheck();
    renderExports();
  }

  function refreshSoon() {
    // Stuck list and per-check figures: at most one reload every 1.5 s, whatever the traffic.
    if (refreshTimer === null) {
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        load();
      }, 1500);
    }
  }

  // -- live ----------------------------------------------------------------------------------
  function setLive(on) {
    const live = document.getElementById("live");
    live.textContent = on ? "● " + L.live : L.reconnecting;
    live.className = "live " + (on ? "on" : "off");
  }

  function connect() {
    stream = new EventSource("/api/events");
    stream.addEventListener("open", () => setLive(true));
    stream.addEventListener("hello", () => load());
    stream.addEventListener("attempt", (message) => {
      const event = JSON.parse(message.data);
      if (!data || event.lab !== data.lab) return;
      const row = event.rows[data.source];
      if (!row) return;
      updateRow(row);
      refreshSoon();
    });
    stream.addEventListener("error", () => {
      setLive(false);
      // The browser retries by itself after a dropped connection; after an answer that is not
      // a stream (a proxy's 502 while the server restarts) it gives up: start again then.
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }

  // -- one student's timeline ----------------------------------------------------------------
  function scoreChart(attempts) {
    const width = 480, height = 120;
    const box = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, class: "timeline-chart" });
    box.append(svg("rect", { x: 0, y: 0, width, height, class: "spark-bg" }));
    if (!attempts.length) return box;
    const t0 = Date.parse(attempts[0].at);
    const t1 = Math.max(Date.parse(attempts[attempts.length - 1].at), t0 + 60000);
    const max = Math.max(...attempts.map((a) => a.max_score), 1);
    const xy = attempts.map((a) => [
      ((Date.parse(a.at) - t0) / (t1 - t0)) * (width - 12) + 6,
      height - 6 - (a.score / max) * (height - 12),
      a,
    ]);
    box.append(svg("polyline", { points: xy.map((p) => p[0] + "," + p[1]).join(" "), class: "spark-line" }));
    for (const [x, y, a] of xy) {
      const dot = svg("circle", { cx: x, cy: y, r: 3.5, class: "dot " + a.source });
      const tip = svg("title", {});
      tip.textContent = points(a.score) + "/" + points(a.max_score) + " · " + L[a.source];
      dot.append(tip);
      box.append(dot);
    }
    return box;
  }

  async function openTimeline(student) {
    const answer = await fetch("/api/timeline?" + query({ student }), { credentials: "same-origin" });
    if (!answer.ok) return;
    const timeline = await answer.json();
    document.getElementById("timeline-title").textContent = L.timeline + " — " + student + " — " + timeline.lab;
    document.getElementById("timeline-chart").replaceChildren(scoreChart(timeline.attempts));
    document.getElementById("timeline-list").replaceChildren(
      ...timeline.attempts
        .slice()
        .reverse()
        .map((a) =>
          el(
            "li",
            { class: a.source },
            el("strong", {}, new Date(a.at).toLocaleTimeString()),
            " ",
            points(a.score) + "/" + points(a.max_score),
            " ",
            el("span", { class: "source" }, L[a.source]),
            a.variant_ok === false ? el("span", { class: "flag", title: L.variant_mismatch }, " ≠") : null,
            a.misses.length
              ? el(
                  "ul",
                  {},
                  ...a.misses.map((m) =>
                    el("li", {}, el("span", { class: "check-id" }, m.check), " ", SYMBOL[m.status], " ", el("span", { class: "message" }, m.message)),
                  ),
                )
              : null,
          ),
        ),
    );
    document.getElementById("timeline").showModal();
  }

  // -- start ---------------------------------------------------------------------------------
  labSelect.addEventListener("change", load);
  sourceSelect.addEventListener("change", load);
  setInterval(() => {
    for (const cell of document.querySelectorAll("td.last")) cell.textContent = ago(cell.dataset.at);
  }, 30000);
  renderLegend();
  setLive(false);
  connect();
})();
