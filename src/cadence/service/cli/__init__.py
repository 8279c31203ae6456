"""The ``cadence`` command line: the other front door of the service.

Exit status: 0 success, 1 failure (e.g. the database is unreachable), 2 bad input
(invalid rows, unknown series, a malformed file). Machine-readable output with ``--json``
goes to stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import os
import sys

import typer

from cadence.service.cli.app import app, dispose_engines
from cadence.service.cli.errors import exit_code_for, report_error

# register the command groups on ``app``
from cadence.service.cli import apikey, backtest, db, features, ingest, retrain, run, serve, series  # noqa: F401  isort: skip
from cadence.service.cli import report  # noqa: F401  isort: skip
from cadence.service.cli import accuracy  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        result = app(args=argv, prog_name="cadence", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except typer.TyperException as exc:  # usage errors: unknown command, bad option
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        report_error(exc)
        return code
    finally:
        dispose_engines()
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise typer.Exit(main())
