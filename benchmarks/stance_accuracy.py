"""Accuracy and speed of the statement-stance extractor.

    python benchmarks/stance_accuracy.py [--repeat N]

Prints precision / recall / F1 per stance and overall accuracy on

- the synthetic labelled set (``tests/features/data/stance_labelled.csv``, 72 rows);
- the synthetic held-out sets (``tests/features/data/stance_holdout*.csv``, 36 rows
  each; written after the lexicons, see that folder's README.md);
- the real statements shipped in ``data/`` with their analyst labels mapped by
  ``normalize_stance_label``: the 18 rows of
  ``us_forces_attacks_news_transcribed/militia_statements.csv`` (the 2024-02-09 Islamic
  Resistance in Iraq row read with the full text of
  ``statements/iri_full_resumption_2024-02-09.txt``, as that folder's SOURCE.md says)
  and the ``kind == statement`` rows of ``israel-fronts-key-events``;

then throughput: statements per second of ``extract`` over all of them, ``--repeat``
times (default 20), on one core.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from cadence.columns import STANCE, TEXT
from cadence.features.stance import LEXICON_VERSION, extract, normalize_stance_label
from cadence.features.stance.evaluation import StanceScores, stance_scores

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "features" / "data"
DATA = ROOT / "data"
IRI_DATE = "2024-02-09"
FIRST_RUNS = "0.50, 0.53 and 0.50"


def load_synthetic(name: str) -> pd.DataFrame:
    """A synthetic labelled set: columns id, language, stance, case, text."""
    return pd.read_csv(TEST_DATA / name, comment="#", dtype=str)


def load_real() -> pd.DataFrame:
    """Real statements with mapped analyst labels: columns date, origin, raw, stance, text."""
    militia = pd.read_csv(DATA / "us_forces_attacks_news_transcribed" / "militia_statements.csv")
    iri = (DATA / "statements" / "iri_full_resumption_2024-02-09.txt").read_text(encoding="utf-8")
    texts = militia["summary_or_quote"].where(
        ~((militia["date"] == IRI_DATE) & (militia["group"] == "Islamic Resistance in Iraq")), iri
    )
    first = pd.DataFrame(
        {
            "date": militia["date"],
            "origin": "militia_statements",
            "raw": militia["stance"],
            TEXT: texts,
        }
    )
    events = pd.read_csv(DATA / "israel-fronts-key-events" / "events_2023-10_2024-06.csv")
    events = events[events["kind"] == "statement"]
    second = pd.DataFrame(
        {
            "date": events["date"],
            "origin": "israel_fronts",
            "raw": events["stance"],
            TEXT: events["summary"],
        }
    )
    real = pd.concat([first, second], ignore_index=True)
    real[STANCE] = [normalize_stance_label(raw) for raw in real["raw"]]
    return real


def format_scores(title: str, scores: StanceScores) -> str:
    lines = [f"{title}  (n={scores.n}, accuracy {scores.accuracy:.3f})"]
    lines.append(f"  {'stance':<14}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for stance, row in scores.table.iterrows():
        lines.append(
            f"  {stance!s:<14}{row['precision']:>10.3f}{row['recall']:>8.3f}"
            f"{row['f1']:>8.3f}{int(row['support']):>9d}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes for the throughput timing")
    parser.add_argument("--errors", action="store_true", help="also list misclassified rows")
    args = parser.parse_args()

    print(f"lexicon {LEXICON_VERSION} (the cue extractor alone; see benchmarks/stance.py)\n")
    sets = {
        "synthetic labelled set": load_synthetic("stance_labelled.csv"),
        "synthetic held-out set 1": load_synthetic("stance_holdout.csv"),
        "synthetic held-out set 2": load_synthetic("stance_holdout2.csv"),
        "synthetic held-out set 3": load_synthetic("stance_holdout3.csv"),
        "real statements (data/)": load_real(),
    }
    texts: list[str] = []
    for title, frame in sets.items():
        predicted = [extract(text).stance for text in frame[TEXT]]
        print(format_scores(title, stance_scores(frame[STANCE].tolist(), predicted)))
        if args.errors:
            for (_, row), guess in zip(frame.iterrows(), predicted, strict=True):
                if guess != row[STANCE]:
                    print(f"    wrong: {row[STANCE]} -> {guess}: {str(row[TEXT])[:100]}")
        print()
        texts.extend(frame[TEXT])

    print(
        "note: every set above was read while the lexicons were written or widened, so these\n"
        "are in-sample figures. The held-out sets' first runs, before the lexicons saw them,\n"
        f"are the estimate for new phrasing: accuracy {FIRST_RUNS}\n"
        "(see tests/features/data/README.md).\n"
    )
    start = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            extract(text)
    elapsed = time.perf_counter() - start
    n = args.repeat * len(texts)
    chars = args.repeat * sum(len(t) for t in texts)
    print(
        f"throughput: {n / elapsed:,.0f} statements/s ({chars / elapsed / 1e6:.2f} M chars/s; "
        f"{n} extractions of {len(texts)} statements, mean {chars / n:.0f} chars)"
    )


if __name__ == "__main__":
    main()
