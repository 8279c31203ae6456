"""Reading deploy/: the compose file, its env examples and the Kubernetes manifests, and
checking their commands against the real command lines (Cadence's Typer app, MLflow's
``server``) and their variables against ``Settings`` and MLflow's known variables."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main
import yaml

from cadence.service.cli import app as cadence_app
from cadence.service.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
_INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blanks skipped)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: expected KEY=VALUE, got {line!r}"
            pairs[key.strip()] = value.strip()
    return pairs


def commands(argv: list[str]) -> Iterator[list[str]]:
    """The command lines in a container command: itself, or each part of an
    ``sh -c "a && b"``; compose's ``${VAR:-default}`` replaced by its default."""
    argv = [_INTERPOLATION.sub(r"\1", a) for a in argv]
    if argv[:2] == ["sh", "-c"]:
        for part in argv[2].split("&&"):
            yield shlex.split(part)
    else:
        yield argv


def _parse(cmd: Any, prog: str, args: list[str]) -> None:
    """Walk sub-commands, then parse the options as the command would (unknown options,
    bad values and missing required ones raise a usage error). Duck-typed: Typer ships
    its own copy of Click, so its groups are no ``click.Group``."""
    while hasattr(cmd, "commands"):
        assert args and args[0] in cmd.commands, f"`{prog}`: no sub-command {args[:1]}"
        prog, cmd, args = f"{prog} {args[0]}", cmd.commands[args[0]], args[1:]
    with cmd.make_context(prog, list(args)):
        pass


def check_command(argv: list[str]) -> str:
    """Parse a ``cadence ...`` or ``mlflow server ...`` line with the real parsers;
    returns the sub-command path (e.g. ``cadence db upgrade``)."""
    if argv[0] == "cadence":
        _parse(typer.main.get_command(cadence_app), "cadence", argv[1:])
        return " ".join(a for a in argv[:3] if not a.startswith("-"))
    if argv[:2] == ["mlflow", "server"]:
        from mlflow.cli import cli as mlflow_cli

        _parse(mlflow_cli, "mlflow", argv[1:])
        return "mlflow server"
    raise AssertionError(f"not a cadence or mlflow server command: {argv}")


def check_cadence_variables(env: dict[str, str], where: str) -> None:
    """Every CADENCE_* variable names a ``Settings`` field and its value validates."""
    fields = {}
    for key, value in env.items():
        if key.startswith("CADENCE_"):
            name = key.removeprefix("CADENCE_").lower()
            assert name in Settings.model_fields, f"{where}: {key} is no Cadence setting"
            fields[name] = value
    Settings.model_validate(fields)


def mlflow_variables() -> set[str]:
    """The MLFLOW_* variables MLflow reads: its environment_variables module and the
    ``envvar`` of every ``mlflow server`` option."""
    import mlflow.environment_variables as known
    from mlflow.cli import cli as mlflow_cli

    names = {v.name for v in vars(known).values() if hasattr(v, "name") and hasattr(v, "get")}
    for param in mlflow_cli.commands["server"].params:
        envvar = getattr(param, "envvar", None)
        names.update([envvar] if isinstance(envvar, str) else envvar or [])
    return names


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """A Kubernetes container's env as name -> value (``secret:NAME/KEY`` for refs)."""
    out = {}
    for item in container.get("env", []):
        if "value" in item:
            out[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            out[item["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return out


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc["kind"]
    if kind in ("Deployment", "StatefulSet", "Job"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    if kind == "CronJob":
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None
