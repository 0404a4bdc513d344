"""What the machine did while the benchmark ran: CPU by whom, from /proc, and what it is.

The figures are only worth reading when the benchmark had the machine to itself, so
every measured window also accounts the CPU of the client (this process), the server
process and PostgreSQL; whatever else kept the cores busy shows up as `others`.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg2


@dataclass
class CpuSample:
    wall: float
    machine_busy: float  # CPU seconds busy, all cores, since boot
    machine_total: float  # CPU seconds, all cores, since boot
    client: float
    server: float | None
    postgres: dict[int, float] | None  # per process: postmaster and its children


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "


def _proc_times(pid: int) -> float | None:
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def _tree_times(parent: int) -> dict[int, float] | None:
    """CPU seconds of `parent` and of each of its live children (PostgreSQL backends)."""
    own = _proc_times(parent)
    if own is None:
        return None
    times = {parent: own}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[1]) == parent:
                times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return times


def _server_times(pid: int) -> float | None:
    """CPU seconds of `ledger serve` and its workers (children that live as long as it)."""
    times = _tree_times(pid)
    return None if times is None else sum(times.values())


def _machine_times() -> tuple[float, float]:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    except OSError:
        return 0.0, 0.0
    ticks = [int(value) for value in first]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / _TICK, sum(ticks) / _TICK


@dataclass
class Probe:
    server_pid: int | None = None
    postmaster_pid: int | None = None

    def sample(self) -> CpuSample:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, total = _machine_times()
        return CpuSample(
            wall=time.perf_counter(),
            machine_busy=busy,
            machine_total=total,
            client=usage.ru_utime + usage.ru_stime,
            server=_server_times(self.server_pid) if self.server_pid else None,
            postgres=_tree_times(self.postmaster_pid) if self.postmaster_pid else None,
        )


@dataclass
class Cpu:
    """CPU seconds spent during measured windows, by whom (None: not measurable here)."""

    capacity: float = 0.0  # all cores x wall time
    busy: float = 0.0
    client: float = 0.0
    server: float | None = 0.0
    postgres: float | None = 0.0

    @staticmethod
    def between(a: CpuSample, b: CpuSample) -> Cpu:
        server = None if a.server is None or b.server is None else b.server - a.server
        postgres = None
        if a.postgres is not None and b.postgres is not None:
            # Per process, so a backend that exits between windows is never counted twice;
            # one that exits inside a window loses its last slice (windows keep theirs open).
            postgres = sum(t - a.postgres.get(pid, 0.0) for pid, t in b.postgres.items())
        return Cpu(
            capacity=b.machine_total - a.machine_total,
            busy=b.machine_busy - a.machine_busy,
            client=b.client - a.client,
            server=server,
            postgres=postgres,
        )

    def add(self, other: Cpu) -> None:
        self.capacity += other.capacity
        self.busy += other.busy
        self.client += other.client
        self.server = (
            None if self.server is None or other.server is None else (self.server + other.server)
        )
        self.postgres = (
            None
            if self.postgres is None or other.postgres is None
            else (self.postgres + other.postgres)
        )

    def share(self, x: float | None) -> str:
        """`x` CPU seconds as a share of the machine over the windows."""
        return "n/a" if x is None or not self.capacity else f"{100 * x / self.capacity:.0f}%"

    @property
    def others(self) -> float | None:
        """CPU seconds of everything else on the machine (other users' work, the kernel)."""
        if self.server is None or self.postgres is None:
            return None
        return max(0.0, self.busy - self.client - self.server - self.postgres)

    @staticmethod
    def per_call(x: float | None, calls: int) -> str:
        return "n/a" if x is None or not calls else f"{1000 * x / calls:.2f}"


def postmaster_of(backend_pid: int) -> int | None:
    """The postmaster of a local backend; None when PostgreSQL runs elsewhere."""
    try:
        if not Path(f"/proc/{backend_pid}/comm").read_text().startswith("postgres"):
            return None
    except OSError:
        return None
    fields = _stat_fields(backend_pid)
    return None if fields is None else int(fields[1])


def environment(postgresql: str) -> dict[str, str]:
    """The machine and the versions the figures were measured with; `postgresql` says which."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3  # before the run
    return {
        "nproc": f"{os.cpu_count()} (usable by this process: {affinity})",
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "psycopg2": str(getattr(psycopg2, "__version__", "?")).split()[0],
        "postgresql": postgresql,
        "load avg before (1/5/15m)": " / ".join(f"{x:.2f}" for x in load),
    }
