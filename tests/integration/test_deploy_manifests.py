"""deploy/compose.yaml and deploy/k8s/ parse, run real commands with real options, set
only real settings, wire their services to each other, and commit no password.

There is no container engine in CI: these checks read the files; the processes they
describe run for real in ``test_topology.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.manifests import (
    DEPLOY,
    check_cadence_variables,
    check_command,
    commands,
    container_env,
    env_file,
    load_all,
    load_yaml,
    mlflow_variables,
    pod_spec,
)

SERVICES = {"postgres", "mlflow", "migrate", "api", "retrain"}
# user:password@ in a URL; allowed only as the examples' placeholder
_CREDENTIALS = re.compile(r"://[^:/@\s]+:([^@/\s]+)@")
PLACEHOLDER = "change-me"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return doc


def test_compose_runs_the_topology_with_real_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    ran = {}
    for name, svc in services.items():
        if "command" in svc:
            ran[name] = [check_command(argv) for argv in commands(svc["command"])]
    assert ran == {
        "mlflow": ["mlflow server"],
        "migrate": ["cadence db upgrade", "cadence load-bundled"],
        "api": ["cadence serve"],
        "retrain": ["cadence retrain"],
    }
    assert "--workers" in services["api"]["command"]
    assert "--all" in services["retrain"]["command"]
    for name in ("postgres", "mlflow", "api"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    after_migrate = {"migrate": {"condition": "service_completed_successfully"}}
    mlflow_up = {"mlflow": {"condition": "service_healthy"}}
    assert services["api"]["depends_on"] == {**after_migrate, **mlflow_up}
    assert services["retrain"]["depends_on"] == {**after_migrate, **mlflow_up}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_compose_variables_are_settings_and_mlflow_options(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"\bCADENCE_[A-Z0-9_]+", text))
    check_cadence_variables(dict.fromkeys(used, "1") | _compose_env(compose), "compose.yaml")
    check_cadence_variables(env_file(DEPLOY / "cadence.env.example"), "cadence.env.example")
    known = mlflow_variables()
    mlflow_env = {**compose["services"]["mlflow"]["environment"]}
    mlflow_env |= env_file(DEPLOY / "mlflow.env.example")
    unknown = sorted(k for k in mlflow_env if k not in known)
    assert not unknown, f"mlflow service: MLflow reads no {unknown}"


def _compose_env(compose: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for svc in compose["services"].values():
        env |= {k: str(v) for k, v in (svc.get("environment") or {}).items()}
    return env


def test_compose_services_find_each_other(compose: dict[str, Any]) -> None:
    services = compose["services"]
    tracking = urlsplit(services["api"]["environment"]["CADENCE_MLFLOW_TRACKING_URI"])
    assert tracking.hostname == "mlflow"
    assert f"--port={tracking.port}" in services["mlflow"]["command"]
    assert any(f"mlflow:{tracking.port}" in a for a in services["mlflow"]["command"])
    postgres = env_file(DEPLOY / "postgres.env.example")
    cadence_db = urlsplit(env_file(DEPLOY / "cadence.env.example")["CADENCE_DATABASE_URL"])
    mlflow_db = urlsplit(env_file(DEPLOY / "mlflow.env.example")["MLFLOW_BACKEND_STORE_URI"])
    for url in (cadence_db, mlflow_db):
        assert (url.hostname, url.username) == ("postgres", postgres["POSTGRES_USER"])
        assert url.password == postgres["POSTGRES_PASSWORD"]
    assert cadence_db.path == f"/{postgres['POSTGRES_DB']}"
    init = (DEPLOY / "postgres-init" / "01-mlflow-database.sql").read_text()
    assert f"CREATE DATABASE {mlflow_db.path.lstrip('/')};" in init


def test_compose_commits_no_secret(compose: dict[str, Any]) -> None:
    files = {f: svc.get("env_file", []) for f, svc in compose["services"].items()}
    for service, names in files.items():
        for name in names:
            assert (DEPLOY / f"{name}.example").is_file(), f"{service}: no {name}.example"
    assert "deploy/*.env" in (DEPLOY.parent / ".gitignore").read_text().splitlines()
    for path in [DEPLOY / "compose.yaml", *DEPLOY.glob("*.env.example")]:
        for password in _CREDENTIALS.findall(path.read_text()):
            assert password == PLACEHOLDER, f"{path.name}: a password in a URL"
    for path in DEPLOY.glob("*.env.example"):
        for key, value in env_file(path).items():
            if "PASSWORD" in key:
                assert value == PLACEHOLDER, f"{path.name}: {key} is not the placeholder"


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    docs = [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in load_all(path)]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [] if spec is None else list(spec["containers"])


def test_k8s_runs_the_topology_with_real_commands(k8s: dict[tuple[str, str], Any]) -> None:
    assert {
        ("Deployment", "cadence-api"),
        ("Service", "cadence-api"),
        ("Deployment", "mlflow"),
        ("Service", "mlflow"),
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("Job", "cadence-migrate"),
        ("CronJob", "cadence-retrain"),
        ("Secret", "cadence-stores"),
    } <= set(k8s)
    ran = {}
    for (kind, name), doc in k8s.items():
        for c in _containers(doc):
            if c.get("command") and name != "postgres":
                ran[kind, name] = [check_command(argv) for argv in commands(c["command"])]
    assert ran == {
        ("Deployment", "cadence-api"): ["cadence serve"],
        ("Deployment", "mlflow"): ["mlflow server"],
        ("Job", "cadence-migrate"): ["cadence db upgrade", "cadence load-bundled"],
        ("CronJob", "cadence-retrain"): ["cadence retrain"],
    }
    api = _containers(k8s["Deployment", "cadence-api"])[0]
    assert "--workers" in api["command"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert k8s["CronJob", "cadence-retrain"]["spec"]["concurrencyPolicy"] == "Forbid"


def test_k8s_variables_and_secrets_exist(k8s: dict[tuple[str, str], Any]) -> None:
    secret = k8s["Secret", "cadence-stores"]["stringData"]
    known = mlflow_variables()
    for (kind, name), doc in k8s.items():
        for c in _containers(doc):
            env = container_env(c)
            check_cadence_variables(env, f"{kind}/{name}")
            for key, value in env.items():
                if key.startswith("MLFLOW_"):
                    assert key in known, f"{kind}/{name}: MLflow reads no {key}"
                if value.startswith("secret:"):
                    ref = value.removeprefix("secret:")
                    assert ref.split("/")[0] == "cadence-stores", f"{kind}/{name}: {ref}"
                    assert ref.split("/")[1] in secret, f"{kind}/{name}: no key {ref}"
    for password in _CREDENTIALS.findall(" ".join(map(str, secret.values()))):
        assert password == PLACEHOLDER
    assert secret["POSTGRES_PASSWORD"] == PLACEHOLDER


def test_k8s_services_select_their_pods(k8s: dict[tuple[str, str], Any]) -> None:
    tracking = urlsplit(k8s["Secret", "cadence-stores"]["stringData"]["MLFLOW_TRACKING_URI"])
    assert (tracking.hostname, tracking.port) == ("mlflow", 5000)
    for (kind, name), svc in k8s.items():
        if kind != "Service":
            continue
        selector = svc["spec"]["selector"]
        pods = [
            d
            for (k, _), d in k8s.items()
            if k in ("Deployment", "StatefulSet")
            and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(pods) == 1, f"Service {name} selects {len(pods)} workloads"
        ports = {p.get("name") for c in _containers(pods[0]) for p in c.get("ports", [])}
        ports |= {p["containerPort"] for c in _containers(pods[0]) for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: no port {port['targetPort']}"
        labels = pods[0]["spec"]["selector"]["matchLabels"]
        assert labels.items() <= pods[0]["spec"]["template"]["metadata"]["labels"].items()


def test_manifest_files_are_all_read() -> None:
    """Every file under deploy/ is one the tests above read (or the cron example)."""
    read = {"compose.yaml", "cron.txt", "01-mlflow-database.sql"}
    read |= {p.name for p in DEPLOY.glob("*.env.example")}
    read |= {p.name for p in (DEPLOY / "k8s").glob("*.yaml")}
    files = {p.name for p in Path(DEPLOY).rglob("*") if p.is_file()} - {
        p.name for p in DEPLOY.glob("*.env")
    }
    assert files == read
