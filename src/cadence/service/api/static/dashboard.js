/* Cadence dashboard: a client of the public HTTP API only (no other source of data).
 *
 * Reads: GET /v1/series, then per series .../observations, .../forecast (quantiles
 * 0.025..0.975 for the 50/80/95% bands), .../events (timeline markers), .../effects,
 * .../backtest, .../accuracy (live scores). Scenario: POST .../scenarios. Every GET is sent with the ETag it last got
 * (If-None-Match); a 304 changes nothing on the page. The forecast is polled (every 30 s,
 * or ?poll=SECONDS); when it changes, the series is read again and redrawn.
 *
 * Charts are hand-written SVG. Every number drawn is also in the DOM as data-* attributes
 * (raw API values) or text, so what is shown can be checked against the API.
 *
 * Scripts, loaded in order: dash-util, dash-api, dash-charts, dash-panels, dash-scenario,
 * dash-accuracy, then this one (state, loading, polling, wiring); each adds its part to window.Cadence.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { KEY_STORE, $, fmtInstant, q, el } = C.util;
  const { urls, clearAlert, setStatus, clock, api, showAlert, forget } = C.api;
  const { drawFan, periodText, drawPAny } = C.charts;
  const { renderWindows, renderForecastTable, renderMarkerList, renderModel, renderEffects } = C.panels;
  const { setScenarioBounds, addScenarioRow, resetScenarioForm, runScenario, renderScenario } = C.scenario;
  const { renderAccuracy } = C.accuracy;

  const params = new URLSearchParams(window.location.search);
  const POLL_MS = Math.max(1, Number(params.get("poll")) || 30) * 1000;

  const state = (C.state = {
    series: null, // name
    list: [], // GET /v1/series
    data: null, // {forecast, observations, markers, effects, backtest, errors}
    token: 0, // guards against answers for a series no longer selected
    renders: 0,
    notModified: 0,
    polls: 0,
    scenario: null,
  });

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
    const parts = ["forecast", "observations", "events", "effects", "backtest", "accuracy"];
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

  function showReadout(p) {
    const out = $("readout");
    out.textContent = periodText(p);
    out.dataset.date = p.date;
    out.dataset.hi80 = q(p, "0.9");
    out.dataset.lo80 = q(p, "0.1");
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
      : "The API has no observed counts for this series yet, so only the forecast is drawn.";
    const last = observations[observations.length - 1];
    $("fan-chart").dataset.lastObserved = last ? last.start : "";
    $("fan-chart").dataset.lastCount = last ? last.count : "";
    renderForecastTable($("forecast-table"), data.forecast);
    renderMarkerList($("marker-list"), data.events ? data.events.markers : []);
    drawPAny($("pany-chart"), data.forecast);
    renderWindows($("windows-table"), data.forecast);
    renderModel(data);
    renderEffects(data);
    renderAccuracy(data);
    renderScenario();
    setScenarioBounds();
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
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
      forget();
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
