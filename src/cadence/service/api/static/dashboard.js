/* Cadence dashboard: a client of the public HTTP API only (no other source of data).
 *
 * Reads: GET /v1/series, /v1/series/{name}, .../observations, .../forecast (quantiles
 * 0.025..0.975 for the 50/80/95% bands), .../events (timeline markers), .../effects,
 * .../backtest. Scenario: POST .../scenarios. Every GET is sent with the ETag it last got
 * (If-None-Match); a 304 changes nothing on the page. The forecast is polled (every 30 s,
 * or ?poll=SECONDS); when it changes, the series is read again and redrawn.
 *
 * Charts are hand-written SVG. Every number drawn is also in the DOM as data-* attributes
 * (raw API values) or text, so what is shown can be checked against the API.
 */
"use strict";
(() => {
  const QUANTILES = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975];
  const BANDS = [
    { level: 95, lo: "0.025", hi: "0.975" },
    { level: 80, lo: "0.1", hi: "0.9" },
    { level: 50, lo: "0.25", hi: "0.75" },
  ];
  const DAY = 86400000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KEY_STORE = "cadence-api-key";
  const params = new URLSearchParams(window.location.search);
  const POLL_MS = Math.max(1, Number(params.get("poll")) || 30) * 1000;

  const state = {
    series: null, // name
    list: [], // GET /v1/series
    data: null, // {forecast, observations, markers, effects, backtest, errors}
    cache: new Map(), // url -> {etag, data}
    token: 0, // guards against answers for a series no longer selected
    renders: 0,
    notModified: 0,
    polls: 0,
    scenario: null,
  };

  // ---------------------------------------------------------------- small helpers
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) {
        node.append(c instanceof Node ? c : String(c));
      }
    }
    return node;
  }

  function sv(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) {
        node.append(c instanceof Node ? c : String(c));
      }
    }
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }

  const dayMs = (iso) => {
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return Date.UTC(y, m - 1, d);
  };
  const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
  const fmtDay = new Intl.DateTimeFormat("en-GB", {
    day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
  });
  const fmtShort = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  const fmtMonth = new Intl.DateTimeFormat("en-GB", { month: "short", timeZone: "UTC" });
  const fmtMonthYear = new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
  const fmtMean = (x) => (Math.abs(x) >= 100 ? fmtInt(x) : x.toFixed(1));
  const fmtPct = (p) => {
    if (p > 0 && p < 0.005) return "<1%";
    if (p < 1 && p >= 0.995) return ">99%";
    return `${Math.round(p * 100)}%`;
  };
  const fmtRange = (lo, hi) => `${fmtInt(lo)}–${fmtInt(hi)}`;
  const fmtNum = (x, digits = 3) => {
    if (x === null || x === undefined) return "–";
    const v = Number(x);
    if (v !== 0 && (Math.abs(v) >= 1e3 || Math.abs(v) < 1e-3)) {
      const [mant, exp] = v.toExponential(1).split("e");
      const sup = String(Number(exp)).replace(/[-0-9]/g, (c) => "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"["-0123456789".indexOf(c)]);
      return `${mant}×10${sup}`;
    }
    return v.toPrecision(digits);
  };
  const fmtInstant = (iso) => {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  };
  const perUnit = { D: "day", W: "week", M: "month" };
  const q = (period, key) => period.quantiles[key];

  function periodEnd(startMs, frequency) {
    if (frequency === "W") return startMs + 7 * DAY;
    if (frequency === "M") {
      const d = new Date(startMs);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    return startMs + DAY;
  }

  // ---------------------------------------------------------------- API access
  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || `HTTP ${status}`);
      this.status = status;
      this.code = err.code || "http_error";
      this.details = err.details;
    }
  }

  /** GET (with If-None-Match when this URL has given an ETag) or POST a JSON body.
   * Resolves to {status, data, changed}; a 304 resolves to the data held for the URL. */
  async function api(url, body) {
    const headers = { Accept: "application/json" };
    const key = window.sessionStorage.getItem(KEY_STORE);
    if (key) headers["X-API-Key"] = key;
    const held = body === undefined ? state.cache.get(url) : undefined;
    if (held && held.etag) headers["If-None-Match"] = held.etag;
    const init = { method: body === undefined ? "GET" : "POST", headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    if (r.status === 304 && held) return { status: 304, data: held.data, changed: false };
    let data = null;
    try {
      data = await r.json();
    } catch (_e) {
      data = null;
    }
    if (!r.ok) {
      if (r.status === 401) $("key-box").hidden = false;
      throw new ApiError(r.status, data);
    }
    const etag = r.headers.get("ETag");
    if (body === undefined) state.cache.set(url, { etag, data });
    return { status: r.status, data, changed: true };
  }

  const enc = encodeURIComponent;
  const urls = {
    forecast: (s) => `/v1/series/${enc(s)}/forecast?quantiles=${QUANTILES.join(",")}`,
    observations: (s) => `/v1/series/${enc(s)}/observations`,
    events: (s) => `/v1/series/${enc(s)}/events`,
    effects: (s) => `/v1/series/${enc(s)}/effects`,
    backtest: (s) => `/v1/series/${enc(s)}/backtest`,
    scenarios: (s) => `/v1/series/${enc(s)}/scenarios`,
  };

  function showAlert(message, details) {
    const box = $("alert");
    box.replaceChildren(el("strong", null, message));
    const rows = Array.isArray(details) ? details : details && details.errors;
    if (Array.isArray(rows) && rows.length) {
      box.append(
        el("ul", null, rows.slice(0, 8).map((d) => el("li", null, typeof d === "string" ? d : JSON.stringify(d)))),
      );
    }
    box.hidden = false;
  }
  const clearAlert = () => {
    $("alert").hidden = true;
  };
  const setStatus = (text) => {
    $("status").textContent = text;
  };
  const clock = () => new Date().toISOString().slice(11, 19);

  // ---------------------------------------------------------------- loading
  async function loadList() {
    const { data } = await api("/v1/series");
    state.list = data;
    const select = $("series");
    select.replaceChildren(...data.map((s) => el("option", { value: s.name }, s.name)));
    select.disabled = data.length === 0;
    const wanted = params.get("series");
    const names = data.map((s) => s.name);
    const first = names.includes(wanted) ? wanted : names.includes("israel-alerts") ? "israel-alerts" : names[0];
    if (first) {
      select.value = first;
      await selectSeries(first);
    } else {
      setStatus("No series declared yet.");
    }
  }

  async function selectSeries(name) {
    state.series = name;
    state.scenario = null;
    state.data = null;
    document.body.dataset.series = name;
    const u = new URL(window.location.href);
    u.searchParams.set("series", name);
    window.history.replaceState(null, "", u);
    resetScenarioForm();
    renderScenario();
    await loadSeries(name);
  }

  /** Read everything about series `name` (conditional GETs) and redraw. */
  async function loadSeries(name) {
    const token = ++state.token;
    setStatus(`Loading ${name}…`);
    const parts = ["forecast", "observations", "events", "effects", "backtest"];
    const settled = await Promise.allSettled(parts.map((p) => api(urls[p](name))));
    if (token !== state.token) return;
    const data = { errors: {} };
    parts.forEach((p, i) => {
      const r = settled[i];
      if (r.status === "fulfilled") data[p] = r.value.data;
      else data.errors[p] = r.reason;
    });
    state.data = data;
    clearAlert();
    const hard = ["observations"].map((p) => data.errors[p]).find(Boolean);
    if (hard) showAlert(`Could not read ${name}: ${hard.message}`, hard.details);
    renderAll();
    setStatus(
      data.forecast
        ? `Forecast from ${data.forecast.origin}, generated ${fmtInstant(data.forecast.generated_at)}. Checked ${clock()}.`
        : `${name}: no forecast yet (${data.errors.forecast ? data.errors.forecast.message : "unknown"}).`,
    );
  }

  async function poll() {
    const name = state.series;
    if (!name || document.hidden) return;
    state.polls += 1;
    document.body.dataset.polls = String(state.polls);
    try {
      const r = await api(urls.forecast(name));
      if (name !== state.series) return;
      if (!r.changed) {
        state.notModified += 1;
        document.body.dataset.notModified = String(state.notModified);
        return; // nothing changed: the page stays as it is
      }
      await loadSeries(name);
    } catch (e) {
      const stillNone = e.status === 404 && state.data && !state.data.forecast;
      if (!stillNone) setStatus(`Could not refresh (${e.message}); retrying in ${POLL_MS / 1000} s.`);
    }
  }

  // ---------------------------------------------------------------- scales and axes
  function linear(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    return (v) => r0 + (v - d0) * k;
  }

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw || 1));
    const norm = raw / mag;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  }

  function yTicks(max, height) {
    const step = Math.max(niceStep(max, Math.max(2, Math.floor(height / 45))), max < 5 ? 1 : 0);
    const out = [];
    for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
    return out;
  }

  function xTicks(x0, x1, width) {
    const spanDays = (x1 - x0) / DAY;
    const maxTicks = Math.max(2, Math.floor(width / 72));
    const out = [];
    if (spanDays / 7 <= maxTicks) {
      const step = spanDays / 1 <= maxTicks ? 1 : spanDays / 2 <= maxTicks ? 2 : 7;
      let t = x0;
      if (step === 7) while (new Date(t).getUTCDay() !== 1) t += DAY; // Mondays
      for (; t <= x1; t += step * DAY) out.push({ t, label: fmtShort.format(t) });
      return out;
    }
    if (spanDays / 14 <= maxTicks) {
      let t = x0;
      while (new Date(t).getUTCDay() !== 1) t += DAY;
      for (; t <= x1; t += 14 * DAY) out.push({ t, label: fmtShort.format(t) });
      return out;
    }
    const months = Math.max(1, Math.ceil(spanDays / 30.4 / maxTicks));
    const d0 = new Date(x0);
    let y = d0.getUTCFullYear();
    let m = d0.getUTCMonth() + 1;
    for (;;) {
      if (m > 11) {
        y += Math.floor(m / 12);
        m %= 12;
      }
      const t = Date.UTC(y, m, 1);
      if (t > x1) break;
      out.push({ t, label: m === 0 || out.length === 0 ? fmtMonthYear.format(t) : fmtMonth.format(t) });
      m += months;
    }
    return out;
  }

  function chartWidth(container) {
    return Math.max(280, Math.floor(container.clientWidth || container.parentElement.clientWidth || 640));
  }

  // ---------------------------------------------------------------- the fan chart
  /** Draw history + forecast fan into `container`.
   * opts: {observations, forecast, frequency, markers, historyDays, yMax, alt, height,
   *        label, scenarioEvents, onPeriod} */
  function drawFan(container, opts) {
    const { forecast, frequency } = opts;
    const width = chartWidth(container);
    const phone = width < 520;
    const hasMarkers = Boolean(opts.markers);
    const height = opts.height || (phone ? 270 : 340);
    const m = { l: phone ? 38 : 48, r: 10, t: 16, b: hasMarkers ? 58 : 24 };
    const periods = forecast ? forecast.periods : [];
    const obs = opts.observations || [];
    const lastObs = obs.length ? obs[obs.length - 1] : null;
    const origin = forecast ? dayMs(forecast.origin) : lastObs ? dayMs(lastObs.start) : Date.now();
    const xEnd = periods.length
      ? periodEnd(dayMs(periods[periods.length - 1].date), frequency)
      : periodEnd(origin, frequency);
    const firstObs = obs.length ? dayMs(obs[0].start) : origin;
    const x0 = opts.historyDays === "all" ? firstObs : Math.max(firstObs, origin - Number(opts.historyDays) * DAY);
    const shown = obs.filter((o) => dayMs(o.end) > x0);

    const daily = [];
    const intervals = [];
    for (const o of shown) {
      const s = dayMs(o.start);
      const e = dayMs(o.end);
      if (e === periodEnd(s, frequency)) daily.push({ o, t: s, v: o.count });
      else intervals.push({ o, s, e, v: o.count / Math.max(1, Math.round((e - s) / DAY)) });
    }
    let yMax = opts.yMax;
    if (yMax === undefined) {
      yMax = 1;
      for (const d of daily) yMax = Math.max(yMax, d.v);
      for (const d of intervals) yMax = Math.max(yMax, d.v);
      for (const p of periods) yMax = Math.max(yMax, q(p, "0.975") ?? p.mean);
      yMax *= 1.05;
    }
    const ticks = yTicks(yMax, height - m.t - m.b);
    yMax = Math.max(yMax, ticks[ticks.length - 1]);
    const x = linear(x0, xEnd, m.l, width - m.r);
    const axisY = hasMarkers ? height - 58 : height - 24;
    const y = linear(0, yMax, axisY, m.t);
    const title = opts.label || "History and forecast";
    const root = sv("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": title,
      "data-y-max": yMax,
      "data-y-zero": axisY,
      "data-y-top": m.t,
    });
    root.append(sv("title", null, title));

    // grid and axes
    const axis = sv("g", { class: "axis" });
    for (const v of ticks) {
      axis.append(sv("line", { class: "gridline", x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }));
      axis.append(sv("text", { x: m.l - 5, y: y(v) + 4, "text-anchor": "end" }, fmtInt(v)));
    }
    axis.append(sv("line", { x1: m.l, x2: width - m.r, y1: axisY, y2: axisY }));
    for (const tk of xTicks(x0, xEnd, width - m.l - m.r)) {
      axis.append(sv("line", { x1: x(tk.t), x2: x(tk.t), y1: axisY, y2: axisY + 4 }));
      axis.append(sv("text", { x: x(tk.t), y: axisY + 16, "text-anchor": "middle" }, tk.label));
    }
    axis.append(
      sv("text", { x: m.l, y: m.t - 5, "text-anchor": "start" }, `count per ${perUnit[frequency] || "period"}`),
    );
    root.append(axis);

    // marker rules behind the data
    const markers = (opts.markers || []).filter((k) => dayMs(k.date) >= x0 && dayMs(k.date) < xEnd);
    const rules = sv("g", { "aria-hidden": "true" });
    for (const k of markers) {
      const mx = x(dayMs(k.date));
      rules.append(sv("line", { class: "marker-rule", x1: mx, x2: mx, y1: m.t, y2: axisY }));
    }
    root.append(rules);

    // forecast fan: bands continue from the last observed day
    const fan = sv("g", { class: "fan", "data-origin": forecast ? forecast.origin : "" });
    const anchor = lastObs && dayMs(lastObs.start) === origin && daily.length ? { t: origin, v: lastObs.count } : null;
    if (periods.length) {
      for (const b of BANDS) {
        const upper = periods.map((p) => [x(dayMs(p.date)), y(q(p, b.hi))]);
        const lower = periods.map((p) => [x(dayMs(p.date)), y(q(p, b.lo))]).reverse();
        const pts = anchor ? [[x(anchor.t), y(anchor.v)], ...upper, ...lower] : [...upper, ...lower];
        fan.append(
          sv("path", {
            class: `band band-${b.level}`,
            "data-band": b.level,
            d: `M${pts.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join("L")}Z`,
          }),
        );
      }
      const med = periods.map((p) => [x(dayMs(p.date)), y(q(p, "0.5"))]);
      if (anchor) med.unshift([x(anchor.t), y(anchor.v)]);
      fan.append(
        sv("path", { class: "median", d: `M${med.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join("L")}` }),
      );
      const ox = x(origin);
      fan.append(sv("line", { class: "origin", x1: ox, x2: ox, y1: m.t, y2: axisY }));
      const room = width - m.r - ox > 70;
      fan.append(
        sv(
          "text",
          { class: "origin-label", x: room ? ox + 4 : ox - 4, y: m.t + 10, "text-anchor": room ? "start" : "end" },
          room ? "forecast →" : "forecast",
        ),
      );
    }
    root.append(fan);

    // observed history: a line through the daily counts (broken at gaps), dashed
    // segments for interval totals (as a daily average)
    const hist = sv("g", { class: "history-group" });
    let d = "";
    let prev = null;
    for (const p of daily) {
      const cmd = prev !== null && p.t - prev <= periodEnd(prev, frequency) - prev ? "L" : "M";
      d += `${cmd}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      prev = p.t;
    }
    if (d) hist.append(sv("path", { class: "history", d }));
    const r = daily.length > 150 ? 1.3 : 2.2;
    for (const p of daily) {
      hist.append(
        sv(
          "circle",
          { class: "obs", cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r, "data-date": p.o.start, "data-count": p.o.count },
          sv("title", null, `${p.o.start}: ${fmtInt(p.o.count)} observed`),
        ),
      );
    }
    for (const p of intervals) {
      hist.append(
        sv(
          "line",
          {
            class: "interval obs-interval",
            x1: x(Math.max(p.s, x0)),
            x2: x(p.e),
            y1: y(p.v),
            y2: y(p.v),
            "data-start": p.o.start,
            "data-end": p.o.end,
            "data-count": p.o.count,
          },
          sv("title", null, `${p.o.start} to ${isoDay(p.e - DAY)}: ${fmtInt(p.o.count)} in total`),
        ),
      );
    }
    root.append(hist);

    // scenario days
    for (const ev of opts.scenarioEvents || []) {
      const sx = x(dayMs(ev.date));
      root.append(
        sv(
          "line",
          { class: "scenario-day", x1: sx, x2: sx, y1: m.t, y2: axisY, "data-date": ev.date },
          sv("title", null, `hypothetical ${ev.type} on ${ev.date}`),
        ),
      );
    }

    // per-period hit areas carrying the drawn numbers
    const hits = sv("g", { class: "periods" });
    periods.forEach((p, i) => {
      const t = dayMs(p.date);
      const left = i === 0 ? x(t) - (x(periodEnd(t, frequency)) - x(t)) / 2 : (x(dayMs(periods[i - 1].date)) + x(t)) / 2;
      const right = i === periods.length - 1 ? width - m.r : (x(t) + x(dayMs(periods[i + 1].date))) / 2;
      const attrs = {
        class: "hit fc-period",
        x: left.toFixed(1),
        y: m.t,
        width: Math.max(1, right - left).toFixed(1),
        height: axisY - m.t,
        "data-date": p.date,
        "data-mean": p.mean,
        "data-median": q(p, "0.5"),
        "data-p-any": p.p_any,
      };
      for (const b of BANDS) {
        attrs[`data-lo${b.level}`] = q(p, b.lo);
        attrs[`data-hi${b.level}`] = q(p, b.hi);
      }
      const rect = sv("rect", attrs, sv("title", null, periodText(p)));
      if (opts.onPeriod) {
        rect.addEventListener("mouseenter", () => opts.onPeriod(p));
        rect.addEventListener("click", () => opts.onPeriod(p));
      }
      hits.append(rect);
    });
    root.append(hits);

    // timeline markers under the axis: shape says what it is, colour repeats it
    if (hasMarkers) {
      const strip = sv("g", { class: "markers" });
      const rowY = [axisY + 30, axisY + 46];
      strip.append(sv("text", { class: "strip-label", x: 2, y: rowY[0] + 4 }, phone ? "" : "events"));
      const perDay = new Map();
      for (const k of markers) {
        const n = perDay.get(k.date) || 0;
        perDay.set(k.date, n + 1);
        const mx = x(dayMs(k.date)) + (n >= 2 ? (n - 1) * 6 : 0);
        const my = rowY[Math.min(n, 1)];
        const label = markerLabel(k);
        const g = sv("g", {
          class: `marker marker-${k.kind}`,
          transform: `translate(${mx.toFixed(1)},${my})`,
          tabindex: 0,
          role: "img",
          "aria-label": label,
          "data-date": k.date,
          "data-kind": k.kind,
          "data-stance": k.stance || "",
        });
        g.append(sv("title", null, label));
        if (k.kind === "retaliation") g.append(sv("path", { class: "m-retaliation", d: "M0,-6 L6,5 L-6,5 Z" }));
        else {
          const stance = k.stance || "neutral";
          g.append(sv("circle", { class: `m-${stance}`, r: 5.5 }));
          if (stance === "escalation") g.append(sv("path", { class: "m-sign", d: "M-3,0 H3 M0,-3 V3" }));
          if (stance === "de-escalation") g.append(sv("path", { class: "m-sign", d: "M-3,0 H3" }));
        }
        strip.append(g);
      }
      root.append(strip);
    }
    container.replaceChildren(root);
    container.classList.toggle("alt", Boolean(opts.alt));
    container.dataset.intervals = String(intervals.length);
    container.dataset.state = periods.length ? "drawn" : "history-only";
    return { yMax };
  }

  function markerLabel(k) {
    const what = k.kind === "retaliation" ? "Retaliation strike" : `Statement (${k.stance || "neutral"})`;
    return `${k.date} — ${what}${k.actor ? `, ${k.actor}` : ""}: ${k.text}`;
  }

  function periodText(p) {
    return (
      `${p.date}: median ${fmtInt(q(p, "0.5"))}, 50% ${fmtRange(q(p, "0.25"), q(p, "0.75"))}, ` +
      `80% ${fmtRange(q(p, "0.1"), q(p, "0.9"))}, 95% ${fmtRange(q(p, "0.025"), q(p, "0.975"))}; ` +
      `mean ${fmtMean(p.mean)}; P(≥1) ${fmtPct(p.p_any)}`
    );
  }

  function showReadout(p) {
    const out = $("readout");
    out.textContent = periodText(p);
    out.dataset.date = p.date;
    out.dataset.hi80 = q(p, "0.9");
    out.dataset.lo80 = q(p, "0.1");
  }

  // ---------------------------------------------------------------- other panels
  function drawPAny(container, forecast) {
    const periods = forecast ? forecast.periods : [];
    if (!periods.length) {
      container.replaceChildren(el("p", { class: "muted" }, "No forecast yet."));
      return;
    }
    const width = chartWidth(container);
    const height = 150;
    const m = { l: 40, r: 8, t: 10, b: 22 };
    const n = periods.length;
    const bw = (width - m.l - m.r) / n;
    const y = linear(0, 1, height - m.b, m.t);
    const root = sv("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": "Daily probability of at least one event",
    });
    const axis = sv("g", { class: "axis" });
    for (const v of [0, 0.5, 1]) {
      axis.append(sv("line", { class: "gridline", x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }));
      axis.append(sv("text", { x: m.l - 5, y: y(v) + 4, "text-anchor": "end" }, `${v * 100}%`));
    }
    const every = Math.max(1, Math.ceil(n / Math.floor((width - m.l) / 60)));
    periods.forEach((p, i) => {
      if (i % every === 0) {
        axis.append(
          sv("text", { x: m.l + (i + 0.5) * bw, y: height - 6, "text-anchor": "middle" }, fmtShort.format(dayMs(p.date))),
        );
      }
    });
    root.append(axis);
    periods.forEach((p, i) => {
      root.append(
        sv(
          "rect",
          {
            class: "pany",
            x: (m.l + i * bw + bw * 0.12).toFixed(1),
            y: y(p.p_any).toFixed(1),
            width: Math.max(1, bw * 0.76).toFixed(1),
            height: Math.max(0, y(0) - y(p.p_any)).toFixed(1),
            "data-date": p.date,
            "data-p-any": p.p_any,
          },
          sv("title", null, `${p.date}: P(≥1) ${fmtPct(p.p_any)}`),
        ),
      );
    });
    container.replaceChildren(root);
    const lo = periods.reduce((a, b) => (b.p_any < a.p_any ? b : a));
    const hi = periods.reduce((a, b) => (b.p_any > a.p_any ? b : a));
    container.append(
      el("p", { class: "muted" }, `From ${fmtPct(lo.p_any)} (${lo.date}) to ${fmtPct(hi.p_any)} (${hi.date}).`),
    );
  }

  function rangeGlyph(w, max) {
    const width = 120;
    const x = linear(0, max || 1, 2, width - 2);
    const g = sv("svg", { class: "range", viewBox: `0 0 ${width} 14`, width, height: 14, "aria-hidden": "true" });
    g.append(sv("rect", { class: "band-95", x: x(w.quantiles["0.025"]), y: 3, height: 8, width: Math.max(1, x(w.quantiles["0.975"]) - x(w.quantiles["0.025"])) }));
    g.append(sv("rect", { class: "band-80", x: x(w.quantiles["0.1"]), y: 3, height: 8, width: Math.max(1, x(w.quantiles["0.9"]) - x(w.quantiles["0.1"])) }));
    g.append(sv("rect", { class: "band-50", x: x(w.quantiles["0.25"]), y: 3, height: 8, width: Math.max(1, x(w.quantiles["0.75"]) - x(w.quantiles["0.25"])) }));
    g.append(sv("line", { class: "median", x1: x(w.quantiles["0.5"]), x2: x(w.quantiles["0.5"]), y1: 0, y2: 14 }));
    return g;
  }

  function renderWindows(table, forecast) {
    const windows = forecast ? forecast.windows : [];
    if (!windows.length) {
      table.replaceChildren(el("caption", { class: "muted" }, forecast ? "No 7/14/28-day windows for this frequency." : "No forecast yet."));
      $("at-least-table").replaceChildren();
      return;
    }
    const max = Math.max(...windows.map((w) => w.quantiles["0.975"]));
    table.replaceChildren(
      el("thead", null, el("tr", null,
        el("th", { scope: "col" }, "Next"),
        el("th", { scope: "col" }, "Mean"),
        el("th", { scope: "col" }, "Median"),
        el("th", { scope: "col" }, "50%"),
        el("th", { scope: "col" }, "80%"),
        el("th", { scope: "col" }, "95%"),
        el("th", { scope: "col" }, "Range"),
      )),
      el("tbody", null, windows.map((w) => el("tr", {
        class: "window",
        "data-days": w.days,
        "data-mean": w.mean,
        "data-median": w.quantiles["0.5"],
        "data-lo80": w.quantiles["0.1"],
        "data-hi80": w.quantiles["0.9"],
        "data-lo95": w.quantiles["0.025"],
        "data-hi95": w.quantiles["0.975"],
      },
        el("th", { scope: "row" }, `${w.days} days`),
        el("td", { class: "n" }, fmtMean(w.mean)),
        el("td", { class: "n" }, fmtInt(w.quantiles["0.5"])),
        el("td", { class: "n" }, fmtRange(w.quantiles["0.25"], w.quantiles["0.75"])),
        el("td", { class: "n" }, fmtRange(w.quantiles["0.1"], w.quantiles["0.9"])),
        el("td", { class: "n" }, fmtRange(w.quantiles["0.025"], w.quantiles["0.975"])),
        el("td", null, rangeGlyph(w, max)),
      ))),
    );
    renderAtLeast($("at-least-table"), windows);
  }

  function renderAtLeast(table, windows) {
    const ks = windows.length ? Object.keys(windows[0].p_at_least || {}) : [];
    if (!ks.length) {
      table.replaceChildren();
      return;
    }
    table.replaceChildren(
      el("caption", null, "Chance of at least k events"),
      el("thead", null, el("tr", null,
        el("th", { scope: "col" }, "Next"),
        ks.map((k) => el("th", { scope: "col", class: "n" }, `k = ${k}`)),
      )),
      el("tbody", null, windows.map((w) => el("tr", { "data-days": w.days },
        el("th", { scope: "row" }, `${w.days} days`),
        ks.map((k) => el("td", { class: "n", "data-k": k, "data-p": w.p_at_least[k] }, fmtPct(w.p_at_least[k]))),
      ))),
    );
  }

  function renderForecastTable(table, forecast) {
    if (!forecast) {
      table.replaceChildren();
      return;
    }
    table.replaceChildren(
      el("thead", null, el("tr", null,
        ["Date", "Mean", "Median", "50%", "80%", "95%", "P(≥1)"].map((h) => el("th", { scope: "col" }, h)),
      )),
      el("tbody", null, forecast.periods.map((p) => el("tr", { "data-date": p.date },
        el("th", { scope: "row" }, p.date),
        el("td", { class: "n" }, fmtMean(p.mean)),
        el("td", { class: "n" }, fmtInt(q(p, "0.5"))),
        el("td", { class: "n" }, fmtRange(q(p, "0.25"), q(p, "0.75"))),
        el("td", { class: "n" }, fmtRange(q(p, "0.1"), q(p, "0.9"))),
        el("td", { class: "n" }, fmtRange(q(p, "0.025"), q(p, "0.975"))),
        el("td", { class: "n" }, fmtPct(p.p_any)),
      ))),
    );
  }

  function renderMarkerList(list, markers) {
    const rows = (markers || []).slice().reverse();
    if (!rows.length) {
      list.replaceChildren(el("li", null, "No retaliation events or statements drive this series."));
      return;
    }
    list.replaceChildren(...rows.map((k) => el("li", { "data-date": k.date, "data-kind": k.kind },
      el("span", { class: "badge" }, k.kind === "retaliation" ? "strike" : k.stance || "neutral"),
      `${k.date}${k.actor ? ` — ${k.actor}` : ""}: ${k.text}`,
    )));
  }

  function skillText(skill, model) {
    if (skill === undefined || skill === null) return { text: "not recorded", cls: "" };
    if (model === "climatology") return { text: "0% (this is the climatology baseline)", cls: "" };
    const pct = (skill * 100).toFixed(1);
    if (skill > 0) return { text: `+${pct}% (lower CRPS than climatology)`, cls: "skill-good" };
    if (skill < 0) return { text: `${pct}% (higher CRPS than climatology)`, cls: "skill-bad" };
    return { text: "0% (as good as climatology)", cls: "" };
  }

  function renderModel(data) {
    const panel = $("model-panel");
    const f = data.forecast;
    const bt = data.backtest;
    if (!f) {
      panel.replaceChildren(el("dt", null, "Model"), el("dd", null, "no forecast served yet"));
    } else {
      const skill = bt && bt.skill_vs_climatology ? bt.skill_vs_climatology[f.model.name] : undefined;
      const s = skillText(skill, f.model.name);
      const fact = (label, field, value, extra) =>
        [el("dt", null, label), el("dd", { "data-field": field, ...(extra || {}) }, value)];
      panel.replaceChildren(
        ...fact("Model", "name", f.model.name),
        ...fact("Registry version", "version", f.model.version ?? "–"),
        ...fact("Trained", "trained", fmtInstant(bt && bt.generated_at ? bt.generated_at : f.generated_at)),
        ...fact("Forecast origin", "origin", f.origin),
        ...fact("Skill vs climatology", "skill", s.text, { class: s.cls, "data-value": skill ?? "" }),
        ...fact("MLflow run", "run_id", f.model.run_id ?? "–"),
      );
    }
    const table = $("backtest-table");
    const note = $("backtest-note");
    if (!bt) {
      table.replaceChildren();
      const err = data.errors.backtest;
      note.textContent = err ? `No backtest to show: ${err.message}` : "";
      return;
    }
    const rows = (bt.scores || []).filter((r) => r.horizon === "all");
    table.replaceChildren(
      el("thead", null, el("tr", null,
        ["Model", "CRPS", "Skill", "MAE", "80% cov.", "95% cov."].map((h) => el("th", { scope: "col" }, h)),
      )),
      el("tbody", null, rows.map((r) => el("tr", {
        class: r.model === bt.champion ? "champion" : null,
        "data-model": r.model,
        "data-crps": r.crps,
        "data-skill": bt.skill_vs_climatology ? bt.skill_vs_climatology[r.model] : "",
      },
        el("th", { scope: "row" }, r.model, r.model === bt.champion ? " (champion)" : ""),
        el("td", { class: "n" }, fmtNum(r.crps)),
        el("td", { class: "n" }, bt.skill_vs_climatology && bt.skill_vs_climatology[r.model] !== undefined
          ? `${(bt.skill_vs_climatology[r.model] * 100).toFixed(1)}%` : "–"),
        el("td", { class: "n" }, fmtNum(r.mae)),
        el("td", { class: "n" }, r.coverage_80 === null || r.coverage_80 === undefined ? "–" : fmtPct(r.coverage_80)),
        el("td", { class: "n" }, r.coverage_95 === null || r.coverage_95 === undefined ? "–" : fmtPct(r.coverage_95)),
      ))),
    );
    note.textContent = `${(bt.origins || []).length} rolling origins (${(bt.origins || [])[0] || "?"} to ${(bt.origins || []).slice(-1)[0] || "?"}), ${bt.horizon} ${perUnit[bt.frequency] || "period"}s ahead. Skill = 1 − CRPS / CRPS of climatology; higher is better.`;
  }

  /** A log-scale interval from 0.1 to 10 (clipped, with arrows past the ends). */
  function irrGlyph(r) {
    const width = 120;
    const x = linear(-1, 1, 6, width - 6);
    const at = (v) => x(Math.max(-1, Math.min(1, Math.log10(v))));
    const g = sv("svg", { class: "range", viewBox: `0 0 ${width} 14`, width, height: 14, "aria-hidden": "true" });
    g.append(sv("line", { class: "gridline-dark", x1: x(0), x2: x(0), y1: 0, y2: 14 }));
    g.append(sv("line", { class: "irr-ci", x1: at(r.lower), x2: at(r.upper), y1: 7, y2: 7 }));
    if (r.lower < 0.1) g.append(sv("path", { class: "irr-point", d: `M1,7 L6,3 L6,11 Z` }));
    if (r.upper > 10) g.append(sv("path", { class: "irr-point", d: `M${width - 1},7 L${width - 6},3 L${width - 6},11 Z` }));
    g.append(sv("circle", { class: "irr-point", cx: at(r.irr), cy: 7, r: 3.5 }));
    return g;
  }

  function renderEffects(data) {
    const table = $("effects-table");
    const note = $("effects-note");
    const e = data.effects;
    if (!e) {
      table.replaceChildren();
      note.textContent = data.errors.effects ? `No effects to show: ${data.errors.effects.message}` : "";
      return;
    }
    if (!e.effects.length) {
      table.replaceChildren();
      note.textContent = `The champion (${e.model.name}) has no retaliation or statement terms: no effects to show.`;
      return;
    }
    const level = Math.round((e.level || 0.95) * 100);
    table.replaceChildren(
      el("thead", null, el("tr", null,
        el("th", { scope: "col" }, "Feature"),
        el("th", { scope: "col" }, "IRR"),
        el("th", { scope: "col" }, `${level}% interval`),
        el("th", { scope: "col" }, "p-value"),
        el("th", { scope: "col" }, "0.1 · 1 · 10"),
      )),
      el("tbody", null, e.effects.map((r) => el("tr", {
        "data-feature": r.feature, "data-irr": r.irr, "data-lower": r.lower, "data-upper": r.upper,
      },
        el("th", { scope: "row" }, el("code", null, r.feature)),
        el("td", { class: "n" }, fmtNum(r.irr)),
        el("td", { class: "n" }, `${fmtNum(r.lower)}–${fmtNum(r.upper)}`),
        el("td", { class: "n" }, r.p_value === null || r.p_value === undefined ? "–" : fmtNum(r.p_value, 2)),
        el("td", null, irrGlyph(r)),
      ))),
    );
    note.textContent = `From ${e.model.name} (version ${e.model.version ?? "–"}).`;
  }

  function renderAll() {
    const data = state.data;
    if (!data) return;
    const info = state.list.find((s) => s.name === state.series);
    $("series-description").textContent = info && info.description ? info.description : "";
    const frequency = (data.forecast && data.forecast.frequency) || (info && info.frequency) || "D";
    const observations = data.observations ? data.observations.observations : [];
    drawFan($("fan-chart"), {
      observations,
      forecast: data.forecast,
      frequency,
      markers: data.events ? data.events.markers : [],
      historyDays: $("history-days").value,
      label: `${state.series}: observed history and forecast`,
      onPeriod: showReadout,
    });
    if (data.forecast && data.forecast.periods.length) showReadout(data.forecast.periods[0]);
    else $("readout").textContent = data.errors.forecast ? `No forecast: ${data.errors.forecast.message}` : "";
    $("legend-interval").hidden = $("fan-chart").dataset.intervals === "0";
    const note = $("history-note");
    note.hidden = observations.length > 0 || !data.observations;
    note.textContent = observations.length
      ? ""
      : "The API holds no stored observations for this series (its counts come from events), so only the forecast is drawn.";
    const last = observations[observations.length - 1];
    $("fan-chart").dataset.lastObserved = last ? last.start : "";
    $("fan-chart").dataset.lastCount = last ? last.count : "";
    renderForecastTable($("forecast-table"), data.forecast);
    renderMarkerList($("marker-list"), data.events ? data.events.markers : []);
    drawPAny($("pany-chart"), data.forecast);
    renderWindows($("windows-table"), data.forecast);
    renderModel(data);
    renderEffects(data);
    renderScenario();
    setScenarioBounds();
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
  }

  // ---------------------------------------------------------------- scenarios
  function forecastBounds() {
    const f = state.data && state.data.forecast;
    if (!f || !f.periods.length) return null;
    return { min: f.periods[0].date, max: f.periods[f.periods.length - 1].date };
  }

  function setScenarioBounds() {
    const b = forecastBounds();
    for (const input of document.querySelectorAll("#scenario-events input[type=date]")) {
      if (b) {
        input.min = b.min;
        input.max = b.max;
        if (!input.value) input.value = b.min;
      }
    }
    $("run-scenario").disabled = !b;
  }

  let rowSeq = 0;
  function addScenarioRow(type) {
    rowSeq += 1;
    const id = `ev${rowSeq}`;
    const b = forecastBounds();
    const date = el("input", { type: "date", id: `${id}-date`, name: "date", required: true, min: b && b.min, max: b && b.max, value: b ? b.min : "" });
    const fields = [el("label", { for: `${id}-date` }, "Date", date)];
    if (type === "retaliation") {
      fields.push(
        el("label", { for: `${id}-sev` }, "Severity (0–10)", el("input", { type: "number", id: `${id}-sev`, name: "severity", min: 0, max: 10, step: 1, value: 1 })),
        el("label", { for: `${id}-fat` }, "Fatalities", el("input", { type: "number", id: `${id}-fat`, name: "fatalities", min: 0, step: 1, value: 0 })),
      );
    } else {
      const stance = el("select", { id: `${id}-stance`, name: "stance" },
        el("option", { value: "escalation" }, "escalation"),
        el("option", { value: "de-escalation" }, "de-escalation"),
        el("option", { value: "neutral" }, "neutral"));
      fields.push(
        el("label", { for: `${id}-stance` }, "Stance", stance),
        el("label", { for: `${id}-int` }, "Intensity", el("input", { type: "number", id: `${id}-int`, name: "intensity", min: 0, max: 10, step: 0.5, value: 1 })),
      );
    }
    const li = el("li", { "data-type": type },
      el("fieldset", null,
        el("legend", null, type === "retaliation" ? "Hypothetical strike" : "Hypothetical statement"),
        fields,
        el("button", { type: "button", class: "remove", "aria-label": "Remove this event", onclick: () => li.remove() }, "Remove"),
      ));
    $("scenario-events").append(li);
    return li;
  }

  function resetScenarioForm() {
    $("scenario-events").replaceChildren();
    addScenarioRow("retaliation");
  }

  function scenarioBody() {
    const events = [];
    for (const li of $("scenario-events").children) {
      const v = (n) => li.querySelector(`[name=${n}]`).value;
      if (li.dataset.type === "retaliation") {
        events.push({ type: "retaliation", date: v("date"), severity: Number(v("severity")) || 0, fatalities: Number(v("fatalities")) || 0 });
      } else {
        events.push({ type: "statement", date: v("date"), stance: v("stance"), intensity: Number(v("intensity")) || 0 });
      }
    }
    return { events, quantiles: QUANTILES };
  }

  async function runScenario(ev) {
    ev.preventDefault();
    const name = state.series;
    const body = scenarioBody();
    const result = $("scenario-result");
    if (!body.events.length) {
      showAlert("Add at least one hypothetical event.");
      return;
    }
    result.dataset.state = "running";
    $("scenario-note").textContent = "Computing the forecast with and without the events…";
    $("run-scenario").disabled = true;
    try {
      const { data } = await api(urls.scenarios(name), body);
      if (name !== state.series) return;
      state.scenario = { request: body, response: data };
      result.dataset.request = JSON.stringify(body);
      clearAlert();
      renderScenario();
    } catch (e) {
      result.dataset.state = "error";
      $("scenario-note").textContent = "";
      showAlert(`Scenario refused: ${e.message}`, e.details);
    } finally {
      $("run-scenario").disabled = !forecastBounds();
    }
  }

  function renderScenario() {
    const result = $("scenario-result");
    const s = state.scenario;
    if (!s) {
      result.dataset.state = "empty";
      $("scenario-note").textContent = "Add hypothetical events inside the forecast horizon and run the scenario.";
      $("scenario-baseline").replaceChildren();
      $("scenario-with").replaceChildren();
      $("scenario-table").replaceChildren();
      return;
    }
    const { baseline, scenario, difference } = s.response;
    const frequency = baseline.frequency || (state.data && state.data.forecast && state.data.forecast.frequency) || "D";
    const observations = state.data && state.data.observations ? state.data.observations.observations : [];
    let yMax = 1;
    for (const f of [baseline, scenario]) for (const p of f.periods) yMax = Math.max(yMax, q(p, "0.975") ?? p.mean);
    const recent = observations.filter((o) => dayMs(o.start) > dayMs(baseline.origin || s.response.origin) - 28 * DAY);
    for (const o of recent) yMax = Math.max(yMax, o.count);
    yMax *= 1.05;
    const common = { observations, frequency, historyDays: 28, yMax, scenarioEvents: s.request.events, height: 240 };
    drawFan($("scenario-baseline"), { ...common, forecast: baseline, label: "Forecast without the hypothetical events" });
    drawFan($("scenario-with"), { ...common, forecast: scenario, alt: true, label: "Forecast with the hypothetical events" });
    const model = s.response.model || {};
    const notes = [`${model.name || "champion"}${model.version ? ` v${model.version}` : ""}, from ${s.response.origin}.`];
    if (s.response.note) notes.push(s.response.note);
    else if (s.response.uses_drivers === false) notes.push("The champion does not use retaliation or statements, so both forecasts agree.");
    $("scenario-note").textContent = notes.join(" ");
    const diff = new Map((difference.windows || []).map((w) => [w.days, w]));
    const scen = new Map(scenario.windows.map((w) => [w.days, w]));
    $("scenario-table").replaceChildren(
      el("caption", null, "Totals: mean (80% interval)"),
      el("thead", null, el("tr", null,
        ["Next", "Without", "With", "Change"].map((h) => el("th", { scope: "col" }, h)),
      )),
      el("tbody", null, baseline.windows.map((w) => {
        const o = scen.get(w.days);
        const dm = diff.has(w.days) ? diff.get(w.days).mean : o ? o.mean - w.mean : 0;
        return el("tr", {
          "data-days": w.days, "data-baseline-mean": w.mean, "data-scenario-mean": o ? o.mean : "", "data-difference": dm,
        },
          el("th", { scope: "row" }, `${w.days} days`),
          el("td", { class: "n" }, `${fmtMean(w.mean)} (${fmtRange(w.quantiles["0.1"], w.quantiles["0.9"])})`),
          el("td", { class: "n" }, o ? `${fmtMean(o.mean)} (${fmtRange(o.quantiles["0.1"], o.quantiles["0.9"])})` : "–"),
          el("td", { class: `n ${dm > 0 ? "delta-up" : dm < 0 ? "delta-down" : ""}` }, `${dm > 0 ? "+" : dm < 0 ? "−" : "±"}${fmtMean(Math.abs(dm))}`),
        );
      })),
    );
    result.dataset.state = "done";
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    $("series").addEventListener("change", (e) => {
      selectSeries(e.target.value).catch((err) => showAlert(err.message, err.details));
    });
    $("history-days").addEventListener("change", () => renderAll());
    $("add-retaliation").addEventListener("click", () => {
      addScenarioRow("retaliation");
      setScenarioBounds();
    });
    $("add-statement").addEventListener("click", () => {
      addScenarioRow("statement");
      setScenarioBounds();
    });
    $("scenario-form").addEventListener("submit", runScenario);
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      window.sessionStorage.setItem(KEY_STORE, $("api-key").value.trim());
      state.cache.clear();
      loadList().catch((err) => showAlert(err.message, err.details));
    });
    let resize = 0;
    window.addEventListener("resize", () => {
      window.clearTimeout(resize);
      resize = window.setTimeout(() => renderAll(), 150);
    });
    document.body.dataset.pollMs = String(POLL_MS);
    loadList()
      .catch((err) => {
        setStatus("Could not load the series.");
        showAlert(err.message, err.details);
      })
      .finally(() => window.setInterval(poll, POLL_MS));
  }

  init();
})();
