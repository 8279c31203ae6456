/* Cadence dashboard — Live accuracy: how the served forecasts scored once the truth came
 * (GET /v1/series/{name}/accuracy): the rolling window with the drift alarm, and one row
 * per scored forecast (CRPS against climatology's on the same periods, 80% coverage).
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { $, fmtNum, fmtPct, el } = C.util;

  const ROWS = 8; // the most recent scored forecasts shown

  function renderAccuracy(data) {
    const facts = $("accuracy-panel");
    const table = $("accuracy-table");
    const note = $("accuracy-note");
    const acc = data.accuracy;
    const card = $("accuracy-card");
    if (!acc) {
      facts.replaceChildren();
      table.replaceChildren();
      const err = data.errors.accuracy;
      note.textContent = err ? `No accuracy to show: ${err.message}` : "";
      card.dataset.alarm = "";
      return;
    }
    const r = acc.rolling;
    card.dataset.alarm = r.alarm ? "1" : "0";
    card.dataset.n = String(r.n);
    if (!r.n) {
      facts.replaceChildren();
      table.replaceChildren();
      note.textContent = "No served forecast has been scored yet: scores appear as the truth for their dates is ingested.";
      return;
    }
    const fact = (label, field, value, extra) =>
      [el("dt", null, label), el("dd", { "data-field": field, ...(extra || {}) }, value)];
    const [lo, hi] = r.coverage_band;
    facts.replaceChildren(
      ...fact("Window", "window", `${r.start} – ${r.end} (${r.n} scores)`),
      ...fact("CRPS", "crps", fmtNum(r.crps), { "data-value": r.crps ?? "" }),
      ...fact("Climatology CRPS", "baseline_crps", fmtNum(r.baseline_crps), { "data-value": r.baseline_crps ?? "" }),
      ...fact("80% interval coverage", "coverage_80", `${fmtPct(r.coverage_80)} (band ${fmtPct(lo)}–${fmtPct(hi)})`, {
        "data-value": r.coverage_80 ?? "",
      }),
      ...fact("Drift alarm", "alarm", r.alarm ? r.reasons.join("; ") : "none", { class: r.alarm ? "worse" : "" }),
    );
    const rows = acc.forecasts.slice(-ROWS).reverse();
    table.replaceChildren(
      el("thead", null, el("tr", null,
        ["Origin", "Model", "Periods", "CRPS", "Climatology", "80% cov."].map((h) => el("th", { scope: "col" }, h)),
      )),
      el("tbody", null, rows.map((f) => el("tr", {
        "data-origin": f.origin,
        "data-crps": f.crps ?? "",
        "data-coverage-80": f.coverage_80 ?? "",
      },
        el("th", { scope: "row" }, f.origin),
        el("td", null, f.version ? `${f.model} v${f.version}` : f.model),
        el("td", { class: "n" }, String(f.n)),
        el("td", { class: "n" }, fmtNum(f.crps)),
        el("td", { class: "n" }, fmtNum(f.baseline_crps)),
        el("td", { class: "n" }, f.coverage_80 === null ? "–" : fmtPct(f.coverage_80)),
      ))),
    );
    note.textContent = `Pooled over ${acc.overall.n} scored periods: CRPS ${fmtNum(acc.overall.crps)} against climatology's ${fmtNum(acc.overall.baseline_crps)}; lower is better.`;
  }

  C.accuracy = { renderAccuracy };
})();
