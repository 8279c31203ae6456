/* Cadence dashboard — Hand-written SVG charts: the history + forecast fan chart (50/80/95% bands, median,
 * timeline markers under the axis), the daily P(>=1) bars and small interval glyphs.
 * Every drawn number is also set as a data-* attribute with the API's raw value.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { BANDS, DAY, dayMs, isoDay, fmtShort, fmtMonth, fmtMonthYear, fmtInt, fmtMean, fmtPct, fmtRange, perUnit, q, el, sv, periodEnd, linear } = C.util;

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

  C.charts = { niceStep, yTicks, xTicks, chartWidth, drawFan, markerLabel, periodText, drawPAny, rangeGlyph, irrGlyph };
})();
