// The blood-pressure chart: readings, daily averages, the 140/90 lines and prescription dates,
// drawn as SVG from GET /api/patients/{id}/bp-trend/ with no library.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("trend-config").textContent);
  const svg = document.getElementById("chart");
  const NS = "http://www.w3.org/2000/svg";
  const W = 900, H = 360, PAD = { left: 48, right: 16, top: 16, bottom: 36 };
  const Y_MIN = 40, Y_MAX = 220;
  const CHINA_OFFSET = 8 * 3600000; // Asia/Shanghai has no daylight saving: dates are UTC+8
  // Translated words come from the page (Django i18n) in the config; English otherwise.
  const label = (key, fallback) => (cfg.labels && cfg.labels[key]) || fallback;
  const localDay = (t) => new Date(t + CHINA_OFFSET).toISOString().slice(5, 10);

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  }

  function draw(trend) {
    svg.replaceChildren();
    const start = new Date(trend.date_from + "T00:00:00+08:00").getTime();
    const end = new Date(trend.date_to + "T23:59:59+08:00").getTime();
    const x = (t) => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
    const y = (v) => H - PAD.bottom - ((v - Y_MIN) / (Y_MAX - Y_MIN)) * (H - PAD.top - PAD.bottom);
    for (let v = 60; v <= 200; v += 20) {
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: "#e3e9ee" });
      el("text", { x: 8, y: y(v) + 4, "font-size": 11, fill: "#5b6b7b" }, String(v));
    }
    [[140, "#b3261e"], [90, "#1f4e9e"]].forEach(([v, color]) =>
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: color, "stroke-dasharray": "6 4", "stroke-width": 1 }));
    trend.prescriptions.forEach((p) => {
      const px = x(new Date(p.signed_at).getTime());
      el("line", { x1: px, x2: px, y1: PAD.top, y2: H - PAD.bottom, stroke: "#1e7b34", "stroke-width": 3, opacity: 0.6, class: "rx-mark" });
      el("text", { x: px + 4, y: PAD.top + 12, "font-size": 11, fill: "#1e7b34" }, p.drugs.join(", "));
    });
    trend.readings.forEach((r) => {
      const rx = x(new Date(r.measured_at).getTime());
      el("circle", { cx: rx, cy: y(r.systolic), r: 2.5, fill: "#b3261e", class: "reading" });
      el("circle", { cx: rx, cy: y(r.diastolic), r: 2.5, fill: "#1f4e9e", class: "reading" });
    });
    ["systolic", "diastolic"].forEach((key) => {
      const points = trend.days.map((d) => `${x(new Date(d.date + "T12:00:00+08:00").getTime())},${y(d[key])}`).join(" ");
      if (points) el("polyline", { points, fill: "none", stroke: key === "systolic" ? "#b3261e" : "#1f4e9e", "stroke-width": 2 });
    });
    const days = Math.round((end - start) / 86400000);
    const step = Math.max(1, Math.ceil(days / 10));
    for (let i = 0; i <= days; i += step) {
      const t = start + i * 86400000;
      el("text", { x: x(t), y: H - 12, "font-size": 11, fill: "#5b6b7b", "text-anchor": "middle" }, localDay(t));
    }
    const share = trend.share_high === null ? label("noReadings", "no readings")
      : label("share", "%(percent)s% of %(count)s readings at or above 140/90")
        .replace("%%", "%").replace("%(percent)s", Math.round(trend.share_high * 100)).replace("%(count)s", trend.readings_count);
    document.getElementById("summary").textContent = `${trend.date_from} – ${trend.date_to}: ${share}`;
    const marks = document.getElementById("marks");
    const items = trend.prescriptions.map((p) => `${localDay(new Date(p.signed_at).getTime())} · ${p.drugs.join(", ")} (${p.status})`);
    marks.replaceChildren(...(items.length ? items : [label("noPrescriptions", "No prescriptions in this period. 此期间无处方")]).map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  async function load(params) {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`/api/patients/${cfg.patientId}/bp-trend/?${query}`, { credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) { document.getElementById("summary").textContent = (body.errors && body.errors[0].detail) || JSON.stringify(body); return; }
    document.getElementById("date-from").value = body.date_from;
    document.getElementById("date-to").value = body.date_to;
    draw(body);
    window.bpTrend = body;
  }

  document.getElementById("range").onsubmit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    load({ date_from: form.get("date_from"), date_to: form.get("date_to") });
  };
  load({});
})();
