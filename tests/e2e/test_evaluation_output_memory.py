"""A large output streams through the server with flat memory, both ways.

The proof for any size is that the server's peak memory does not grow with the
content: a 256 MiB upload and read-back (a quarter of the 1 GB the contract promises,
to keep the suite fast) may raise a `ledger serve` process's peak resident memory
(VmHWM) by far less than the content, here at most 64 MiB; a server holding the content
even once would grow by 256 MiB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_client import Client
from tests.conftest import ADMIN_KEY
from tests.support.byte_sources import PatternFile
from tests.support.process import ServeProcess

SIZE = 256 * 1024 * 1024
ALLOWED_GROWTH = 64 * 1024 * 1024


def peak_rss_bytes(serve: ServeProcess) -> int:
    for line in Path(f"/proc/{serve.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        "--listen",
        "127.0.0.1:0",
        database_url=database_url,
        env={
            "LEDGER_BLOB_DIR": str(tmp_path / "blobs"),
            "LEDGER_API_KEYS": f"ops:admin:{ADMIN_KEY}",
        },
    )
    try:
        process.wait_for("serving", 1)
        yield process
    finally:
        process.stop()


def test_write_and_read_evaluation_output_keep_the_servers_memory_flat(
    serve: ServeProcess,
) -> None:
    source = PatternFile(SIZE, seed=1)
    expected = source.sha256()
    with Client(target=f"127.0.0.1:{serve.port}", api_key=ADMIN_KEY) as ledger:
        e = ledger.evaluations.create("x")
        ledger.evaluations.create("warm-up")  # every code path loaded before the baseline
        before = peak_rss_bytes(serve)

        written = ledger.evaluations.write_output(e.evaluation_id, source, timeout=300)
        digest = hashlib.sha256()
        for chunk in ledger.evaluations.read_output(e.evaluation_id, timeout=300):
            digest.update(chunk)

    growth = peak_rss_bytes(serve) - before
    assert written.output_info.sha256 == expected == digest.hexdigest()
    assert growth < ALLOWED_GROWTH, f"the server's peak memory grew by {growth >> 20} MiB"
