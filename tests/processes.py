"""Processes the tests start themselves: each in its own session, output to a file, and
stopped with its whole group (a Celery pool or gunicorn workers included)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Process:
    def __init__(self, argv: list[str], env: dict, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        found = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the group, wait for the leader, then until none of the group is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)


def real_clock_env() -> dict[str, str]:
    """The environment for a server that stands for infrastructure (Redis, PostgreSQL).

    Under `make test-dates` libfaketime is preloaded into the whole suite. Infrastructure keeps
    the machine's real clock, as in production, where the service never asks it for the time
    (service/clock.py); and redis-server cannot start with the preload (its allocator calls
    clock_gettime while libfaketime is still initialising)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    kept = [lib for lib in env.pop("LD_PRELOAD", "").split() if "faketime" not in lib]
    if kept:
        env["LD_PRELOAD"] = " ".join(kept)
    return env


def redis_server(port: int, workdir: Path) -> Process:
    """A private redis-server on `port` that keeps nothing on disk."""
    argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir)]
    return Process(argv, real_clock_env(), workdir / f"redis-{port}.log")
