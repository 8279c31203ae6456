/* Cadence dashboard — The scenario form: hypothetical strikes and statements inside the horizon, sent to
 * POST /v1/series/{name}/scenarios; the forecasts without and with them side by side.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { QUANTILES, DAY, $, dayMs, fmtMean, fmtRange, q, el } = C.util;
  const { urls, clearAlert, api, showAlert } = C.api;
  const { drawFan } = C.charts;

  // ---------------------------------------------------------------- scenarios
  function forecastBounds() {
    const f = C.state.data && C.state.data.forecast;
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
    const body = { events, quantiles: QUANTILES };
    const futures = $("scenario-futures").value; // empty: the service's setting
    if (futures) body.driver_futures = futures;
    return body;
  }

  async function runScenario(ev) {
    ev.preventDefault();
    const name = C.state.series;
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
      if (name !== C.state.series) return;
      C.state.scenario = { request: body, response: data };
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

  /** Whether two forecast bodies have the same means and quantiles in every period. */
  function sameForecast(a, b) {
    return (
      a.periods.length === b.periods.length &&
      a.periods.every((p, i) => p.mean === b.periods[i].mean && JSON.stringify(p.quantiles) === JSON.stringify(b.periods[i].quantiles))
    );
  }

  function renderScenario() {
    const result = $("scenario-result");
    const s = C.state.scenario;
    if (!s) {
      result.dataset.state = "empty";
      $("scenario-note").textContent = "Add hypothetical events inside the forecast horizon and run the scenario.";
      $("scenario-baseline").replaceChildren();
      $("scenario-with").replaceChildren();
      $("scenario-table").replaceChildren();
      return;
    }
    const { baseline, scenario, difference } = s.response;
    const frequency = baseline.frequency || (C.state.data && C.state.data.forecast && C.state.data.forecast.frequency) || "D";
    const observations = C.state.data && C.state.data.observations ? C.state.data.observations.observations : [];
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
    const futures = s.response.driver_futures || { mode: "none" };
    notes.push(futures.mode === "simulated"
      ? `Other strikes and statements after the origin: simulated (${futures.paths ?? "several"} futures, the same in both forecasts).`
      : "No other strike or statement after the origin.");
    if (s.response.note) notes.push(s.response.note);
    else if (s.response.uses_drivers === false || sameForecast(baseline, scenario)) {
      notes.push(`The two forecasts are the same: ${model.name || "the champion"} does not respond to these events.`);
    }
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

  C.scenario = { forecastBounds, setScenarioBounds, addScenarioRow, resetScenarioForm, scenarioBody, runScenario, renderScenario };
})();
