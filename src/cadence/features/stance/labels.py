"""Analyst stance labels -> the three stances of ``cadence.columns``.

Sources code stances in their own words. ``militia_statements.csv`` uses ``escalation``,
``pause``, ``resumption``, ``continuation``, ``denial`` with qualifiers
(``"pause (conditional)"``, ``"claim/escalation"``, ``"continuation (rejects pause)"``).
The mapping, kept in this one place:

==========================================  ===============
raw term                                    stance
==========================================  ===============
escalation, resumption, continuation,       escalation
threat
de-escalation, pause, suspension, truce,    de-escalation
ceasefire
neutral, denial                             neutral
==========================================  ===============

Qualifiers (``conditional``, ``claim``, ``rhetoric``, ``revenge vow``, ``rejects
pause``, ``israel-directed``) say how, not which way, and are ignored. A label is
lower-cased, parenthesised qualifiers are dropped, and it is split on ``/``; the
recognised terms must agree. This module imports only ``cadence.columns`` so that the
ingest layer can hold the same table.
"""

from __future__ import annotations

import re
from typing import Final

from cadence.columns import DE_ESCALATION, ESCALATION, NEUTRAL
from cadence.features.stance.errors import StanceLabelError

LABEL_MAP: Final[dict[str, str]] = {
    "escalation": ESCALATION,
    "resumption": ESCALATION,
    "continuation": ESCALATION,
    "threat": ESCALATION,
    "de-escalation": DE_ESCALATION,
    "deescalation": DE_ESCALATION,
    "pause": DE_ESCALATION,
    "suspension": DE_ESCALATION,
    "truce": DE_ESCALATION,
    "ceasefire": DE_ESCALATION,
    "neutral": NEUTRAL,
    "denial": NEUTRAL,
}
QUALIFIERS: Final = frozenset(
    {"conditional", "claim", "rhetoric", "revenge vow", "rejects pause", "israel-directed"}
)
_PARENTHESES = re.compile(r"\([^)]*\)")


def normalize_stance_label(raw: str | None) -> str | None:
    """A coded label (``"pause (conditional)"``) -> ``"de-escalation"``; blank -> None.

    Raises ``StanceLabelError`` when no term is recognised (``"unclear"``) or the
    recognised terms disagree (``"pause/escalation"``): such a row needs an analyst,
    not a guess.
    """
    if raw is None or (isinstance(raw, float) and raw != raw):  # None or NaN
        return None
    label = _PARENTHESES.sub(" ", str(raw).lower())
    terms = [" ".join(term.split()) for term in label.split("/")]
    terms = [term for term in terms if term]
    if not terms:
        return None
    stances = {LABEL_MAP[term] for term in terms if term in LABEL_MAP}
    unknown = [term for term in terms if term not in LABEL_MAP and term not in QUALIFIERS]
    if len(stances) == 1 and not unknown:
        return stances.pop()
    if len(stances) > 1:
        raise StanceLabelError(
            f"stance label {raw!r}: terms map to different stances {sorted(stances)}"
        )
    raise StanceLabelError(
        f"stance label {raw!r}: expected one of {sorted(LABEL_MAP)} (optionally with "
        f"qualifiers such as '(conditional)'), got unknown term(s) {unknown or terms}"
    )
