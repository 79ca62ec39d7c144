"""`python main.py worker`: an arq worker running the jobs and the sweeps."""

from __future__ import annotations

from core.config import Settings


def run_worker(settings: Settings) -> None:
    raise SystemExit("worker: not implemented yet")
