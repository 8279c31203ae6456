"""Which series a command covers: names, globs (``'attacks-by-country/*'``) or ``--all``.

A ``--series`` value holding ``*``, ``?`` or ``[`` is a glob matched against every
declared name (``fnmatch``, case-sensitive; ``*`` also crosses ``/``); any other value
is a name that must be declared. ``--series`` may be repeated (names may hold commas).
The selection is *many* (the ``{"series": [...], "summary": {...}}`` output) unless it
is exactly one plain name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import typer

__all__ = ["Selection", "is_glob", "select_series"]

_GLOB_CHARS = frozenset("*?[")


def is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


@dataclass(frozen=True)
class Selection:
    """Names in declaration order (each once); ``many``: not exactly one plain name."""

    names: list[str]
    many: bool


def select_series(
    declared: Sequence[str], given: Sequence[str] | None, all_series: bool
) -> Selection:
    """Resolve ``--series`` values (names or globs) or ``--all`` against ``declared``
    (every declared name, in order). Raises ``typer.BadParameter`` (exit 2) for neither
    or both, an unknown name, or a glob matching nothing."""
    values = [v for v in (given or []) if v.strip()]
    if bool(values) == all_series:
        raise typer.BadParameter(
            "give --series NAME (repeatable, globs like 'family/*') or --all, not both",
            param_hint="--series",
        )
    if all_series:
        return Selection(list(declared), True)
    known = set(declared)
    picked: set[str] = set()
    for v in values:
        if is_glob(v):
            hits = [n for n in declared if fnmatchcase(n, v)]
            if not hits:
                raise typer.BadParameter(
                    f"no declared series matches {v!r}; `cadence series list` shows them",
                    param_hint="--series",
                )
            picked.update(hits)
        elif v in known:
            picked.add(v)
        else:
            raise typer.BadParameter(
                f"no series named {v!r}; `cadence series list` shows the declared ones",
                param_hint="--series",
            )
    names = [n for n in declared if n in picked]
    many = len(values) > 1 or any(is_glob(v) for v in values)
    return Selection(names, many)
