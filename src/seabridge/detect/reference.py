"""The rule-kind reference page (``docs/rules.md``), generated from the registered kinds.

Every kind's summary, parameter table (name, unit, default, allowed range, help) and
metrics come from the class itself, so the page cannot drift from the code; a test
regenerates it and compares.
"""

from __future__ import annotations

import seabridge.detect.rules  # noqa: F401  (registers every rule kind)
from seabridge.detect.model import metric_unit
from seabridge.detect.rule import KINDS

__all__ = ["rules_markdown"]


def _number(value: float) -> str:
    return f"{value:g}"


def rules_markdown() -> str:
    """``docs/rules.md``: every registered rule kind, its parameters and its metrics."""
    lines = [
        "# Rule kinds",
        "",
        "Generated from the parameter tables of `seabridge.detect.rules` by `make docs`; a test",
        "keeps this page current. A rulebook entry picks one kind and gives parameters as",
        'quantities with units ("0.5 nm", "12 min", "926 m") or bare numbers in the unit below;',
        "see [detection.md](detection.md) for the rulebook format, grading and the event format.",
        "",
        "| kind | watches | summary |",
        "| --- | --- | --- |",
    ]
    for kind in sorted(KINDS):
        cls = KINDS[kind]
        watches = "pairs" if cls.PAIR else "vessels"
        lines.append(f"| [`{kind}`](#{kind}) | {watches} | {cls.SUMMARY} |")
    for kind in sorted(KINDS):
        cls = KINDS[kind]
        lines += ["", f"## {kind}", "", cls.SUMMARY or "(no summary)", ""]
        lines.append(f"Watches {'pairs of vessels' if cls.PAIR else 'single vessels'}.")
        if cls.SCREENS:
            lines.append(
                "It screens every position first: the positions it rejects are kept out of "
                "the other rules."
            )
        lines += [
            "",
            "| parameter | unit | default | range | what it does |",
            "| --- | --- | --- | --- | --- |",
        ]
        for spec in cls.PARAMS:
            lines.append(
                f"| `{spec.name}` | {spec.unit} | {_number(spec.default)} | "
                f"{_number(spec.minimum)} to {_number(spec.maximum)} | {spec.help} |"
            )
        metrics = ", ".join(f"`{name}` ({metric_unit(name)})" for name in cls.METRICS)
        lines += ["", f"Metrics: {metrics or 'none'}."]
        key = cls.key_metric()
        if key is not None:
            worse = {
                "lower": "the lowest value is the most severe",
                "higher": "the highest value is the most severe",
                "latest": "events report the latest finding",
            }[cls.KEY_WORSE]
            lines.append(f"Key metric: `{key}` ({worse}).")
    return "\n".join(lines) + "\n"
