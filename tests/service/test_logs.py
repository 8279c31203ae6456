"""JSON log lines carry the standard fields and the extras."""

from __future__ import annotations

import json
import logging

from cadence.service.logs import JsonFormatter


def test_json_formatter_emits_one_object_with_extras() -> None:
    record = logging.LogRecord(
        "cadence.http", logging.INFO, __file__, 1, "request %s", ("x",), None
    )
    record.status = 404
    record.ms = 1.5
    body = json.loads(JsonFormatter().format(record))
    assert body["message"] == "request x" and body["level"] == "info"
    assert body["logger"] == "cadence.http"
    assert (body["status"], body["ms"]) == (404, 1.5)
    assert body["ts"].endswith("+00:00")
