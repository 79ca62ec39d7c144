"""Where a row's CPU goes: CPU seconds by part of the machine, from /proc, before and after.

The parts: the gateway's processes by role (`api`, `worker`), every PostgreSQL and Redis
server process, the load process, and the bench itself (its webhook receiver). Divided by
the row's successes, it says what one request costs each part, and so how far the gateway
can get from a ceiling that pays only PostgreSQL's part and its own client's.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SERVERS = {"postgres": "postgres", "redis-server": "redis"}  # /proc/<pid>/comm prefix: part
ORDER = ("api", "postgres", "worker", "redis", "load", "bench")


def process_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process so far; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / TICKS


def part_of(pid: int, named: dict[int, str]) -> str | None:
    if pid in named:
        return named[pid]
    try:
        command = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return next((part for prefix, part in SERVERS.items() if command.startswith(prefix)), None)


def snapshot(named: dict[int, str]) -> dict[str, float]:
    """CPU seconds so far by part; `named` gives the parts of known processes by pid."""
    seconds: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        part = part_of(pid, named)
        used = process_seconds(pid) if part else None
        if part and used is not None:
            seconds[part] = seconds.get(part, 0.0) + used
    return seconds


def per_success(before: dict[str, float], after: dict[str, float],
                successes: int) -> dict[str, float]:
    """Milliseconds of CPU per successful request, by part (processes that ended during the
    row are left out: the gateway's and the servers' run throughout)."""
    if successes <= 0:
        return {}
    return {part: round(1000 * (after[part] - before.get(part, 0.0)) / successes, 3)
            for part in sorted(after, key=lambda name: ORDER.index(name)
                               if name in ORDER else len(ORDER))}


def describe(cost: dict[str, float]) -> str:
    """`CPU per success 2.71 ms: api 1.62, postgres 0.51, …`"""
    if not cost:
        return ""
    parts = ", ".join(f"{part} {ms:.2f}" for part, ms in cost.items() if ms >= 0.005)
    return f"CPU per success {sum(cost.values()):.2f} ms: {parts}"
