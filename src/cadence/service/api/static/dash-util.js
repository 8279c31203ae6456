/* Cadence dashboard — Shared constants and helpers: DOM builders (HTML and SVG), UTC dates, number formats.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});

  const QUANTILES = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975];
  const BANDS = [
    { level: 95, lo: "0.025", hi: "0.975" },
    { level: 80, lo: "0.1", hi: "0.9" },
    { level: 50, lo: "0.25", hi: "0.75" },
  ];
  const DAY = 86400000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const KEY_STORE = "cadence-api-key";
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

  // ---------------------------------------------------------------- scales and axes
  function linear(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    return (v) => r0 + (v - d0) * k;
  }

  C.util = { QUANTILES, BANDS, DAY, SVG_NS, KEY_STORE, $, dayMs, isoDay, fmtShort, fmtMonth, fmtMonthYear, fmtInt, fmtMean, fmtPct, fmtRange, fmtNum, fmtInstant, perUnit, q, el, sv, setAttrs, periodEnd, linear };
})();
