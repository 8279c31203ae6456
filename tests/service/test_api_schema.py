"""Property-based requests generated from the app's own OpenAPI schema: no 5xx, ever.

A bounded number of examples per operation keeps the run short; write endpoints are
exercised both without a key (401) and with a write key (validation paths)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from cadence.service.api import create_app
from cadence.service.bundled import load_bundled
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.apikeys_repo import create_key
from cadence.store.engine import make_engine

HOME = Path(__file__).resolve().parents[2] / ".cadence-test" / "schema"
HOME.mkdir(parents=True, exist_ok=True)
SETTINGS = Settings(home=HOME, database_url=f"sqlite:///{HOME / 'cadence.db'}")
_engine = make_engine(SETTINGS.resolved_database_url)
migrate.upgrade(_engine)
load_bundled(_engine, SETTINGS.data_dir, HOME / "work")
WRITE_KEY, _ = create_key(_engine, "schema-tests", ("write",))
_engine.dispose()

app = create_app(SETTINGS, migrate_on_start=False)
# /readyz answers 503 by design here (no series has a champion forecast in this database)
schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/readyz")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_without_a_key(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])


@schema.include(method="POST").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_with_a_write_key(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {WRITE_KEY}"}, checks=[not_a_server_error]
    )
