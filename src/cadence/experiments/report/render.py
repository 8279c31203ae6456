"""A ``Report`` as Markdown or as one self-contained HTML page.

Both formats render the same blocks (``report_blocks``): headings, paragraphs, bullet
lists, tables and the chart. Markdown refers to the chart by file name (saved beside the
``.md``); HTML embeds it as a base64 ``data:`` URI, so the page needs nothing else.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cadence.experiments.data import period_end
from cadence.experiments.report.build import Report
from cadence.experiments.summaries import regimes_block

__all__ = ["Block", "report_blocks", "to_html", "to_markdown"]

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
.note { color: #555; }
"""


@dataclass(frozen=True)
class Block:
    """One piece of the report: ``kind`` is ``h1``, ``h2``, ``h3``, ``p``, ``list``,
    ``table`` or ``image``; ``text`` for headings and paragraphs, ``items`` for lists,
    ``headers``/``rows`` for tables (``numeric`` marks right-aligned columns)."""

    kind: str
    text: str = ""
    items: Sequence[str] = ()
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    numeric: Sequence[bool] = ()


def _d(t: object) -> str:
    return f"{pd.Timestamp(str(t)):%Y-%m-%d}"


def _f(x: float, digits: int = 2) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _span(r: Report, first: pd.Timestamp, last: pd.Timestamp) -> str:
    end = period_end(last, r.frequency)
    return _d(first) if end == first else f"{_d(first)} .. {_d(end)}"


def _known_blocks(r: Report) -> list[Block]:
    out = [Block("h2", f"What was known on {_d(r.as_of)}")]
    out += _observation_blocks(r)
    out += _recent_events(
        r,
        "Recent strikes (the series' retaliation driver)",
        r.strikes,
        r.strikes_total,
        ["date", "actor", "location", "target", "reported casualties"],
        ["actor", "location", "target", "notes"],
    )
    out += _recent_events(
        r,
        "Recent statements (the series' statement driver)",
        r.statements,
        r.statements_total,
        ["date", "actor", "stance", "coded by", "label", "text (excerpt)"],
        ["actor", "stance", "stance_source", "label", "excerpt"],
    )
    return out


def _observation_blocks(r: Report) -> list[Block]:
    """The last observations before the origin and the recent rate."""
    word = r.period_word
    out = [Block("h3", "Last observations")]
    if r.recent.empty:
        out.append(Block("p", "None."))
    else:
        rows = [
            [
                _span(r, row["start"], row["end"])
                if row["kind"] == "interval"
                else _d(row["start"]),
                str(int(row["periods"])),
                f"{row['count']:g}",
                "total over the interval" if row["kind"] == "interval" else f"count of the {word}",
            ]
            for row in r.recent.to_dict("records")
        ]
        out.append(
            Block(
                "table",
                headers=["dates", f"{word}s", "count", "what"],
                rows=rows,
                numeric=[False, True, True, False],
            )
        )
    if r.recent_rate is not None:
        first, last, n, total = r.recent_rate
        out.append(
            Block(
                "p",
                f"Recent rate: {total:g} over the {n} {word}s {_d(first)} .. {_d(last)}, "
                f"{total / max(n, 1):.2f} per {word}. The data known on the as-of date end "
                f"{_d(r.data_through)}.",
            )
        )
    return out


def _recent_events(
    r: Report,
    title: str,
    frame: pd.DataFrame,
    total: int,
    headers: list[str],
    columns: list[str],
) -> list[Block]:
    """A heading, then the events of ``frame`` in the lookback (a table of their date and
    ``columns``) and how many there are, or that there are none."""
    out = [Block("h3", title)]
    if frame.empty:
        out.append(
            Block(
                "p",
                f"None in the {r.lookback_days} days to {_d(r.as_of)} ({total} known in all).",
            )
        )
        return out
    rows = [[_d(x["date"]), *(str(x[c]) for c in columns)] for x in frame.to_dict("records")]
    out.append(Block("table", headers=headers, rows=rows))
    out.append(
        Block(
            "p",
            f"{len(frame)} in the {r.lookback_days} days to {_d(r.as_of)}; {total} known in all.",
        )
    )
    return out


def _forecast_blocks(r: Report, image: str | None) -> list[Block]:
    word = r.period_word
    fc = r.forecast
    out = [
        Block("h2", "Forecast"),
        Block(
            "p",
            f"Totals over the {word}s after {_d(r.origin)}, from {fc.n_samples} sample paths "
            f"of {r.choice.config.key}: mean, the central 80% interval (10% and 90% "
            "quantiles) and the median, and the probability of at least k events.",
        ),
    ]
    if image is not None:
        out.append(Block("image", image))
    ks = list(r.windows[0].p_at_least) if r.windows else []
    rows = [
        [
            w.label,
            _span(r, w.first, w.last),
            _f(w.mean, 1),
            str(w.quantiles[0.5]),
            f"{w.quantiles[0.1]} .. {w.quantiles[0.9]}",
            *(_f(w.p_at_least[k]) for k in ks),
        ]
        for w in r.windows
    ]
    out.append(
        Block(
            "table",
            headers=[
                "window",
                "dates",
                "mean",
                "median",
                "80% interval",
                *(f"P(>={k})" for k in ks),
            ],
            rows=rows,
            numeric=[False, False, True, True, True, *([True] * len(ks))],
        )
    )
    per = fc.samples.mean()
    out.append(Block("p", f"Mean per {word} over the horizon: {per:.2f}."))
    return out


def _effects_blocks(r: Report) -> list[Block]:
    out = [Block("h2", "Effects of retaliation and statements")]
    out.append(Block("p", f"Source: {r.effects_source}."))
    if r.effects.empty:
        return out
    out.append(
        Block(
            "table",
            headers=["feature", "meaning", "rate ratio", "95% interval", "p"],
            rows=[
                [
                    str(e["feature"]),
                    str(e["description"]),
                    _f(float(e["irr"])),
                    f"{_f(float(e['lower']))} .. {_f(float(e['upper']))}",
                    _p(float(e["p_value"])),
                ]
                for e in r.effects.to_dict("records")
            ],
            numeric=[False, False, True, True, True],
        )
    )
    out.append(
        Block(
            "p",
            "A rate ratio is the factor on the expected count per unit of the feature "
            "(1 = no association; below 1, fewer events). These are associations in this "
            "series' own history, with Wald intervals; they are not causal estimates.",
        )
    )
    return out


def _outcome_blocks(r: Report) -> list[Block]:
    out = [Block("h2", "What happened")]
    if r.scored:
        out.append(_scored_table(r))
        out.append(
            Block(
                "p",
                "CRPS is in counts (lower is better; 0 for a sure and right forecast). A "
                "total is scored only when later data pins it down exactly.",
            )
        )
    else:
        out.append(
            Block(
                "p",
                "Nothing is scored: no later data of this series pins down a "
                "total inside the horizon.",
            )
        )
    if r.truth_notes:
        out.append(Block("list", items=list(r.truth_notes)))
    if r.sampled_bounds:
        out.append(
            Block(
                "p",
                "Where no later total pins the truth down, the sampled reports (a thinned "
                "view of the same events) give a lower bound:",
            )
        )
        items = [
            f"{b.label} window ({_span(r, b.first, b.last)}): at least {b.reported:g} reported"
            for b in r.sampled_bounds
        ]
        out.append(Block("list", items=items))
    return out


def _scored_table(r: Report) -> Block:
    """The totals later data pins down, against the forecast (and Climatology's CRPS when
    it was scored)."""
    ref = any(s.reference_crps is not None for s in r.scored)
    rows = []
    for s in r.scored:
        sc = s.score
        row = [
            s.label,
            _span(r, s.first, s.last),
            str(s.periods),
            f"{sc.observed:g}",
            str(sc.q50),
            f"{sc.q10} .. {sc.q90}",
            "yes" if sc.inside_80 else "no",
            _f(sc.crps),
        ]
        if ref:
            row.append(_f(s.reference_crps) if s.reference_crps is not None else "-")
        rows.append(row)
    headers = [
        "total",
        "dates",
        f"{r.period_word}s",
        "observed",
        "forecast median",
        "80% interval",
        "inside 80%",
        "CRPS",
    ]
    if ref:
        headers.append("CRPS climatology")
    return Block(
        "table",
        headers=headers,
        rows=rows,
        numeric=[False, False, True, True, True, True, False, True, *([True] * ref)],
    )


def _regime_blocks(r: Report) -> list[Block]:
    """Hidden regimes at the origin and the chance of a switch, when the model has them
    (``regime_nb``: the forecast's ``meta["regimes"]``, as the served body shows it)."""
    block = regimes_block(r.forecast.meta.get("regimes"))
    if block is None:
        return []
    word = r.period_word
    rows = [
        [str(s["name"]), _f(float(s["rate"])), f"{float(s['probability']):.2f}"]
        for s in block["states"]
    ]
    switch = ", ".join(
        f"{float(p):.2f} within {n} {word}s"
        for n, p in sorted(block["p_switch"].items(), key=lambda kv: int(kv[0]))
    )
    return [
        Block("h2", "Regimes"),
        Block(
            "table",
            headers=["regime", f"mean count per {word}", "probability at the origin"],
            rows=rows,
            numeric=[False, True, True],
        ),
        Block(
            "p",
            f"Most likely regime at the origin: {block['most_likely']}. Probability of at "
            f"least one switch of regime: {switch}.",
        ),
    ]


def _drivers_line(r: Report) -> Block:
    """Which driver columns the forecasting model used (the product says so when none)."""
    used = r.drivers
    if used:
        return Block("p", f"Drivers used by the model: {', '.join(map(str, used))}.")
    if used is not None:
        return Block(
            "p",
            "The model uses no retaliation or statement driver: strikes and statements do "
            "not move this forecast (docs/results.md has the driver ablation).",
        )
    return Block("p", "The model does not report which drivers it used.")


def _model_blocks(r: Report) -> list[Block]:
    out = [
        Block("h2", "Model"),
        Block("p", f"{r.choice.config.key}: {r.choice.reason}."),
        _drivers_line(r),
    ]
    if r.fit_notes:
        out.append(Block("p", "Notes from the fit:"))
        out.append(Block("list", items=list(r.fit_notes)))
    if r.choice.skipped:
        out.append(Block("p", "Models not used for this series:"))
        out.append(Block("list", items=[f"{k}: {v}" for k, v in r.choice.skipped.items()]))
    return out


def report_blocks(r: Report, image: str | None = None) -> list[Block]:
    """The report as blocks; ``image`` is the chart's reference (file name or data URI),
    None to leave the chart out."""
    word = r.period_word
    fc = r.forecast
    head = [
        Block("h1", f"{r.series}: forecast as of {_d(r.as_of)}"),
        Block(
            "p",
            f"Forecast of the {r.horizon} {word}s {_d(fc.index[0])} .. "
            f"{_d(period_end(pd.Timestamp(fc.index[-1]), r.frequency))}, made with what was known "
            f"on {_d(r.as_of)} (origin {_d(r.origin)}). Model {r.choice.config.key}; "
            f"{r.n_samples} sample paths, seed {r.seed}.",
        ),
    ]
    if r.description:
        head.append(Block("p", f"Series: {r.description}"))
    return [
        *head,
        *_forecast_blocks(r, image),
        *_outcome_blocks(r),
        *_known_blocks(r),
        *_effects_blocks(r),
        *_regime_blocks(r),
        *_model_blocks(r),
    ]


# --- Markdown ------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def to_markdown(r: Report, image_name: str | None = None) -> str:
    """The report as Markdown; the chart is linked as ``image_name`` when given."""
    lines: list[str] = []
    for b in report_blocks(r, image_name):
        if b.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "list":
            lines += [f"- {_md_cell(i)}" for i in b.items] + [""]
        elif b.kind == "image":
            lines += [f"![forecast chart]({b.text})", ""]
        elif b.kind == "table":
            num = list(b.numeric) or [False] * len(b.headers)
            lines.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            lines.append("|" + "|".join("---:" if n else "---" for n in num) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --- HTML ------------------------------------------------------------------------------------


def to_html(r: Report, png: bytes | None = None) -> str:
    """The report as one HTML page; ``png`` (the chart) is embedded as a data URI."""
    uri = None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(r.series)}: forecast as of {_d(r.as_of)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    for b in report_blocks(r, uri):
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "image":
            parts.append(f'<p><img alt="forecast chart" src="{b.text}"></p>')
        elif b.kind == "table":
            num = list(b.numeric) or [False] * len(b.headers)
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="num">{e(c)}</td>' if n else f"<td>{e(c)}</td>"
                    for c, n in zip(row, num, strict=False)
                )
                + "</tr>"
                for row in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
