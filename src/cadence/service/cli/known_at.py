"""``--known-at``: replay what the database held at an instant (rows ingested by then)."""

from __future__ import annotations

import datetime as dt

import typer

HELP = (
    "use only rows ingested by this ISO date-time (UTC), as the database held them then "
    "(default: every stored row, by event date)"
)


def parse_known_at(text: str | None) -> dt.datetime | None:
    """The instant of ``--known-at`` (UTC when no offset is given), or None."""
    if text is None:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected an ISO date-time, got {text!r}", param_hint="--known-at"
        ) from exc
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def mode_label(known_at: dt.datetime | None) -> str:
    """How a run read the data, for messages and JSON: ``event date`` or ``known at T``."""
    return "event date" if known_at is None else f"known at {known_at.isoformat()}"
