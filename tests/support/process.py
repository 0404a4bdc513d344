"""`ledger serve` in its own processes, started the way an operator starts it.

Settings reach it as an operator gives them: flags after the command, variables in `env`.
The test process's own LEDGER_* variables are left out, so a developer's shell cannot
change what a test means; DATABASE_URL is the test's database unless `env` says otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

LEDGER_SERVE = (sys.executable, "-m", "ledger_server", "serve")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        number: int = probe.getsockname()[1]
        return number


class ServeProcess:
    """A server process with its JSON log lines (stderr) collected as they come.

    `command` is what starts it, `ledger serve` unless a test runs another command line
    that ends in it (such as `make run`); `args` follow the command.
    """

    def __init__(
        self,
        *args: str,
        database_url: str,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] = LEDGER_SERVE,
        cwd: str | None = None,
    ) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        environment["DATABASE_URL"] = database_url
        environment.update(env or {})
        self.process = subprocess.Popen(
            [*command, *args],
            env=environment,
            cwd=cwd,
            stderr=subprocess.PIPE,
            text=True,
            # Its own process group: whatever it starts (workers, or `ledger serve` under
            # make) can be stopped with it even when it ignores the signal itself.
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def entries(self, message: str) -> list[dict[str, object]]:
        found = []
        for line in list(self.lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("message") == message:
                found.append(entry)
        return found

    def wait_for(self, message: str, count: int, timeout: float = 60) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.entries(message)
            if len(entries) >= count:
                return entries
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {message!r} in the log:\n{''.join(self.lines)}")

    @property
    def port(self) -> int:
        """The port of the first "serving" line (the one to use after `--listen host:0`)."""
        return int(str(self.wait_for("serving", 1)[0]["port"]))

    def rss_bytes(self) -> int:
        """The process's resident memory now (VmRSS), as the kernel counts it."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc/<pid>/status")

    def stop(self) -> None:
        """SIGTERM, as a process manager stops it; anything left after 30 s is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # nothing of it may outlive the test
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(5)
