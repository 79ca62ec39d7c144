"""The bench's rows, its targets (ratios of figures of the same run) and its report.

Throughput counts successful requests only; a row with errors names them and why, and the
bench fails (`problems`) when errors are not explained or a ceiling writes other rows than
the gateway.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.load import Result


@dataclass
class Row:
    scenario: str
    throughput: float | None = None  # successes a second
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # error reason -> count
    explained: str = ""  # why errors are expected here; empty: none are
    note: str = ""
    key: str = ""  # the name targets know it by
    successes: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per success by part (bench.cpu)


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def summarise(name: str, result: Result, note: str = "", key: str = "") -> Row:
    ordered = sorted(result.latencies)
    notes = [note] if note else []
    if result.exhausted_at is not None:
        notes.append(f"prepared work ran out after {result.exhausted_at:.1f} s: stopped there")
    if result.errors:
        notes.append("errors: " + ", ".join(f"{reason} ×{count}"
                                            for reason, count in result.errors.most_common()))
    return Row(name, result.successes / result.elapsed if result.elapsed else None,
               percentile(ordered, 50) * 1000, percentile(ordered, 99) * 1000,
               sum(result.errors.values()), dict(result.errors), note="; ".join(notes),
               key=key, successes=result.successes)


# --- targets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool | None  # None: not measured in this run


def _ratio(figures: dict[str, float], top: str, bottom: str) -> float | None:
    if figures.get(top) is None or not figures.get(bottom):
        return None
    return figures[top] / figures[bottom]


def _at_least(name: str, value: float | None, floor: float, unit: str = " ×") -> Target:
    if value is None or value != value:
        return Target(name, "not measured", None)
    return Target(name, f"{value:.2f}{unit}", value >= floor)


def _below(name: str, values: list[float | None], limits: list[float], unit: str) -> Target:
    if any(v is None or v != v for v in values):
        return Target(name, "not measured", None)
    shown = ", ".join(f"{v:,.1f}{unit}" for v in values)
    return Target(name, shown, all(v < limit for v, limit in zip(values, limits, strict=True)))


def targets(f: dict[str, float | None]) -> list[Target]:
    """Issue 18's targets, from the named figures of one run (`figures` in run.py)."""
    return [
        _at_least("create c=32 (worker running) ≥ 0.5 × create ceiling",
                  _ratio(f, "create_c32", "create_ceiling"), 0.5),
        _at_least("confirm c=32 ≥ 0.5 × confirm ceiling",
                  _ratio(f, "confirm_c32", "confirm_ceiling"), 0.5),
        _at_least("1 worker delivers ≥ 1.5 × the create rate at c=32",
                  _ratio(f, "deliveries_1_worker", "create_c32"), 1.5),
        _below("create at 100/s: p50 < 3 ms, p99 < 10 ms",
               [f.get("create_100_p50"), f.get("create_100_p99")], [3, 10], " ms"),
        _below("confirm at 100/s: p50 < 3 ms, p99 < 10 ms",
               [f.get("confirm_100_p50"), f.get("confirm_100_p99")], [3, 10], " ms"),
        _below("webhook arrival p99 < 50 ms at 100/s", [f.get("arrival_100_p99")], [50],
               " ms"),
        _below("webhook arrival p99 < 250 ms at half the sustained rate",
               [f.get("arrival_half_p99")], [250], " ms"),
        _below("1,000,000 overdue intents expire in < 30 s", [f.get("expiry_1m_seconds")],
               [30], " s"),
        _below("< 200 MB resident per API process after the run", [f.get("api_rss_max")],
               [200], " MB"),
    ]


def problems(rows: list[Row], census_differences: list[str]) -> list[str]:
    """What makes the run fail: unexplained errors, ceilings that are not ceilings."""
    found = [f"{row.scenario}: {row.errors} unexplained errors ({row.note})"
             for row in rows if row.errors and not row.explained]
    return found + [f"not a ceiling: {difference}" for difference in census_differences]


# --- rendering ----------------------------------------------------------------------------------
def fmt(value: float | None, digits: int) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}"


def table(header: str, rows: list[Row], found: list[Target],
          memory: dict[str, tuple[float, float]]) -> list[str]:
    lines = [header, "",
             "| scenario | successes /s | p50 ms | p99 ms | errors | note |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {row.scenario} | {fmt(row.throughput, 0)} | {fmt(row.p50_ms, 2)} | "
              f"{fmt(row.p99_ms, 2)} | {row.errors} | {row.note} |" for row in rows]
    lines += ["", "| target | this run | |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | "
              f"{'met' if t.met else 'not measured' if t.met is None else '**not met**'} |"
              for t in found]
    lines += ["", "| process | RSS after the run (MB) | peak RSS (MB) |", "|---|---:|---:|"]
    lines += [f"| {name} | {now:.0f} | {peak:.0f} |" for name, (now, peak) in memory.items()]
    return lines


def write(directory: Path, lines: list[str], document: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(document, indent=2, default=str))
    (directory / "latest.md").write_text("\n".join(lines) + "\n")


def rows_json(rows: list[Row]) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(row).items()}
            for row in rows]
