"""The ``cadence`` command line: the other front door of the service.

Exit status: 0 success, 1 failure (e.g. the database is unreachable), 2 bad input
(invalid rows, unknown series, a malformed file). Machine-readable output with ``--json``
goes to stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from cadence.service.cli.app import app, dispose_engines
from cadence.service.cli.errors import exit_code_for, report_error

# register the command groups on ``app``
from cadence.service.cli import db, ingest, run, series  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        result = app(args=argv, prog_name="cadence", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return 2
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 1
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
