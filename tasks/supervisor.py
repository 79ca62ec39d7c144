"""`python main.py worker --processes N`: N worker processes, each restarted when it dies.

A worker killed mid-job loses nothing (the database keeps every event and its lease), but
nothing would run the jobs until someone started it again. The supervisor starts N
`python main.py worker` processes, restarts one that exits (after a backoff that grows while
it keeps dying young), and forwards SIGTERM and SIGINT to all of them for a clean stop. Run it
itself under a process manager (systemd, a container's restart policy), which restarts the
supervisor. The children run in their own session, so a terminal's Ctrl-C reaches them once,
through the supervisor.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("gateway.supervisor")

MAIN = Path(__file__).resolve().parent.parent / "main.py"
POLL_SECONDS = 0.2
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 30.0  # a worker that lived this long starts its backoff afresh
STOP_TIMEOUT_SECONDS = 30.0


@dataclass
class Slot:
    """One of the N workers: its current process and how often it died young in a row."""

    number: int
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    early_deaths: int = 0
    restart_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(MAIN), "worker"],
                                        start_new_session=True, env=child_environment(self.number))
        self.started_at = time.monotonic()
        log.info("worker %d started (pid %d)", self.number, self.process.pid)

    def note_exit(self) -> None:
        """The process ended: schedule its restart after the backoff."""
        code = self.process.returncode if self.process else None
        lived = time.monotonic() - self.started_at
        self.early_deaths = 0 if lived >= HEALTHY_AFTER_SECONDS else self.early_deaths + 1
        delay = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, self.early_deaths - 1))
        log.warning("worker %d (pid %s) exited with %s after %.1fs; restarting in %.1fs",
                    self.number, self.process.pid if self.process else "?", code, lived, delay)
        self.process = None
        self.restart_at = time.monotonic() + delay


def child_environment(number: int) -> dict[str, str]:
    """The supervisor's environment; with WORKER_METRICS_PORT set, worker n serves its
    metrics on that port + n - 1 (N processes cannot share one port)."""
    environ = dict(os.environ)
    base = environ.get("WORKER_METRICS_PORT")
    if base:
        environ["WORKER_METRICS_PORT"] = str(int(base) + number - 1)
    return environ


class Supervisor:
    def __init__(self, processes: int) -> None:
        self.slots = [Slot(number) for number in range(1, processes + 1)]
        self.stopping: int | None = None  # the signal that asked us to stop

    def ask_to_stop(self, signum: int, frame: object = None) -> None:
        if self.stopping is None:
            log.info("signal %d: stopping the workers", signum)
        self.stopping = signum

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.ask_to_stop)
        signal.signal(signal.SIGINT, self.ask_to_stop)
        for slot in self.slots:
            slot.start()
        while self.stopping is None:
            self.tend()
            time.sleep(POLL_SECONDS)
        return self.stop_all(self.stopping)

    def tend(self) -> None:
        """Notice dead workers and restart those whose backoff is over."""
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is not None:
                slot.note_exit()
            if slot.process is None and time.monotonic() >= slot.restart_at \
                    and self.stopping is None:
                slot.start()

    def stop_all(self, signum: int) -> int:
        running = [slot.process for slot in self.slots if slot.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signum)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in time: killing it", process.pid)
                process.kill()
                process.wait()
        log.info("all workers stopped")
        return 0


def supervise(processes: int) -> int:
    """Run `processes` workers until SIGTERM or SIGINT; the exit status."""
    return Supervisor(processes).run()
