"""The progress bar of long commands: on stderr, removed when done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cadence.service.cli.app import err

__all__ = ["counting_bar"]


@contextmanager
def counting_bar(
    label: str, unit: str, total: int | None = None
) -> Iterator[Callable[[int, int], None]]:
    """A bar ``label`` counting ``unit``; yields ``update(done, total)``."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(unit, total=total)
        yield lambda done, n: bar.update(task, completed=done, total=n)
