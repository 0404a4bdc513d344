"""`ledger serve` as a user starts it, in its own process, with its JSON log collected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class ServeProcess:
    """`ledger serve` as a user starts it, with its JSON log lines collected as they come."""

    def __init__(self, *args: str, database_url: str, env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        environment["DATABASE_URL"] = database_url
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger_server", "serve", *args],
            env=environment,
            stderr=subprocess.PIPE,
            text=True,
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
            if entry.get("message") == message:
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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
