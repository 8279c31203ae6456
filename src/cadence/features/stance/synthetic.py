"""Synthetic training statements, generated from the templates in ``data/synthetic_templates.csv``.

These are **not real statements**: each template (written for training, in English or
Arabic, with an intended stance) has ``{actor}`` and optionally ``{target}`` slots,
filled with generic actors ("the faction", الفصيل) and targets. Template ``k`` is
expanded ``VARIANTS`` times, pairing actor ``i`` with target ``(i + k)`` so that every
actor meets every target across templates without multiplying rows. Every generated
row has ``synthetic=True`` and names its template as ``source``.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
from typing import Final

import pandas as pd

TEMPLATES_FILE: Final = "synthetic_templates.csv"
VARIANTS: Final = 4
ACTORS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("The faction", "The group's spokesman", "The armed movement", "The brigades' statement"),
    "ar": ("الفصيل", "المتحدث باسم الحركة", "قائد الجماعة", "البيان الصادر عن الكتائب"),
}
TARGETS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("the occupation forces", "the American bases", "the enemy"),
    "ar": ("قوات الاحتلال", "القواعد الأمريكية", "العدو"),
}
COLUMNS: Final = ("id", "language", "stance", "synthetic", "source", "text")


def read_data_text(name: str) -> str:
    """The text of one file shipped in ``cadence/features/stance/data``."""
    return (
        importlib.resources.files("cadence.features.stance")
        .joinpath("data", name)
        .read_text(encoding="utf-8")
    )


def read_data_csv(name: str) -> list[dict[str, str]]:
    """Rows of a shipped CSV whose leading lines may be ``#`` comments (quoted fields may
    span lines)."""
    lines = read_data_text(name).splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return list(csv.DictReader(io.StringIO("".join(lines))))


def synthetic_statements() -> pd.DataFrame:
    """The generated synthetic statements: columns ``COLUMNS``, ``synthetic`` all True."""
    rows = []
    for k, template in enumerate(read_data_csv(TEMPLATES_FILE)):
        language = template["language"]
        actors, targets = ACTORS[language], TARGETS[language]
        for i in range(VARIANTS):
            text = template["template"].format(
                actor=actors[i % len(actors)], target=targets[(i + k) % len(targets)]
            )
            rows.append(
                {
                    "id": f"{template['id']}-{i}",
                    "language": language,
                    "stance": template["stance"],
                    "synthetic": True,
                    "source": f"{TEMPLATES_FILE} {template['id']}",
                    "text": text,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS)).drop_duplicates("text", ignore_index=True)
