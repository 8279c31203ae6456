/* Cadence dashboard — Tables and panels: 7/14/28-day totals, P(at least k), the forecast table, the timeline
 * list, the model panel with its backtest, and the effects table.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { $, fmtInt, fmtMean, fmtPct, fmtRange, fmtNum, fmtInstant, perUnit, q, el } = C.util;
  const { rangeGlyph, irrGlyph } = C.charts;

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

  // The regimes block of the forecast body (models with hidden regimes): each regime's
  // rate and probability at the origin, and P(at least one switch within 7 / 28 periods).
  function renderRegimes(forecast) {
    const box = $("regimes");
    const r = forecast && forecast.regimes;
    if (!r) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    $("regimes-table").replaceChildren(
      el("thead", null, el("tr", null,
        ["Regime", "Mean count", "Probability"].map((h) => el("th", { scope: "col" }, h)),
      )),
      el("tbody", null, r.states.map((s) => el("tr", {
        "data-regime": s.name,
        "data-probability": s.probability,
        class: s.name === r.most_likely ? "champion" : null,
      },
        el("th", { scope: "row" }, s.name, s.name === r.most_likely ? " (most likely)" : ""),
        el("td", { class: "n" }, fmtNum(s.rate)),
        el("td", { class: "n" }, fmtPct(s.probability)),
      ))),
    );
    const unit = perUnit[forecast.frequency] || "period";
    const sw = Object.entries(r.p_switch || {})
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([n, p]) => `${fmtPct(p)} within ${n} ${unit}s`);
    $("regimes-note").textContent = sw.length ? `Chance of at least one switch of regime: ${sw.join(", ")}.` : "";
  }

  function renderModel(data) {
    renderRegimes(data.forecast);
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
        // counts that stop before the origin: the model was chosen and fitted on them
        ...(f.counts_through
          ? fact(
            "Counts through",
            "counts_through",
            `${f.counts_through}: this series' counts stop there; the model was chosen and fitted on them, and the days up to the origin come from its sampled view or events only`,
            { class: "skill-bad" },
          )
          : []),
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


  // What the retrain's driver ablation found (the /backtest body's "drivers"), if recorded.
  function driversNote(data) {
    const d = data.backtest && data.backtest.drivers;
    return d && d.note ? ` Driver ablation: ${d.note}.` : "";
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
      note.textContent = `The champion (${e.model.name}) has no retaliation or statement terms: no effects to show.${driversNote(data)}`;
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
    note.textContent = `From ${e.model.name} (version ${e.model.version ?? "–"}).${driversNote(data)}`;
  }

  C.panels = { renderWindows, renderAtLeast, renderForecastTable, renderMarkerList, skillText, renderModel, renderEffects };
})();
