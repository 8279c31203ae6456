/* Cadence dashboard — Access to the HTTP API: conditional GETs (If-None-Match with the last ETag of each URL;
 * a 304 resolves to the data held), JSON POSTs, errors in the API's error shape, and the
 * alert and status lines of the page.
 */
"use strict";
(() => {
  const C = (window.Cadence = window.Cadence || {});
  const { QUANTILES, KEY_STORE, $, el } = C.util;

  // ---------------------------------------------------------------- API access
  const cache = new Map(); // url -> {etag, data}
  const forget = () => cache.clear();

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
    const held = body === undefined ? cache.get(url) : undefined;
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
    if (body === undefined) cache.set(url, { etag, data });
    return { status: r.status, data, changed: true };
  }

  const enc = encodeURIComponent;
  const urls = {
    forecast: (s) => `/v1/series/${enc(s)}/forecast?quantiles=${QUANTILES.join(",")}`,
    observations: (s) => `/v1/series/${enc(s)}/observations`,
    events: (s) => `/v1/series/${enc(s)}/events`,
    effects: (s) => `/v1/series/${enc(s)}/effects`,
    backtest: (s) => `/v1/series/${enc(s)}/backtest`,
    accuracy: (s) => `/v1/series/${enc(s)}/accuracy`,
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

  C.api = { urls, clearAlert, setStatus, clock, api, showAlert, ApiError, forget };
})();
