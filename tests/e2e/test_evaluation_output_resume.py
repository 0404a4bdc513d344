"""The SDK's byte streams survive a dropped connection: an upload goes on from the size
the server committed, a read from the last offset it received; no byte lost or doubled."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.v1 import evaluation_service_pb2 as es
from ledger_client import Client, NotFound
from tests.conftest import ADMIN_KEY
from tests.support.byte_sources import BLOCK, PatternFile
from tests.support.proxy import CuttableProxy
from tests.support.server import ServerThread


class CuttingSource(PatternFile):
    """A source that drops every connection through `proxy` once, when `cut_at` bytes
    have been read from it, and records where each upload attempt started."""

    def __init__(self, size: int, proxy: CuttableProxy, cut_at: int) -> None:
        super().__init__(size, seed=5)
        self._proxy = proxy
        self._cut_at = cut_at
        self.starts: list[int] = []

    def seek(self, offset: int, whence: int = 0) -> int:
        self.starts.append(offset)
        return super().seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        if self._cut_at and self.tell() >= self._cut_at:
            self._cut_at = 0
            self._proxy.cut()  # every open connection dies; new ones are let in again
            self._proxy.restore()
        return data


@pytest.fixture
def proxy(server: ServerThread) -> Iterator[CuttableProxy]:
    # A plain TCP proxy: it carries gRPC's HTTP/2 as well as PostgreSQL's protocol.
    cuttable = CuttableProxy(f"postgresql://proxy@127.0.0.1:{server.port}/grpc")
    yield cuttable
    cuttable.close()


def test_write_evaluation_output_resumes_after_a_dropped_connection(
    proxy: CuttableProxy, client: Client
) -> None:
    e = client.evaluations.create("x")
    # Cut late, so the server has most likely committed part of it already.
    source = CuttingSource(24 * BLOCK + 5, proxy, cut_at=20 * BLOCK)
    expected = PatternFile(24 * BLOCK + 5, seed=5).sha256()

    reported: list[int] = []
    with Client(target=f"127.0.0.1:{proxy.port}", api_key=ADMIN_KEY) as through_proxy:
        ask = through_proxy.evaluations.query_write_status

        def recording_ask(upload_id: str, **options: Any) -> es.QueryWriteStatusResponse:
            try:
                status = ask(upload_id, **options)
            except NotFound:
                reported.append(0)  # nothing reached the server's disk: start over
                raise
            reported.append(status.committed_size)
            return status

        setattr(through_proxy.evaluations, "query_write_status", recording_ask)  # noqa: B010
        written = through_proxy.evaluations.write_output(e.evaluation_id, source, timeout=60)

    assert written.output_info.sha256 == expected
    assert written.version == 2  # one version: the resumed upload, not two uploads
    # The second attempt started where the server said the first one had got to.
    assert len(source.starts) >= 2 and source.starts[-1] == reported[-1], (source.starts, reported)


def test_read_evaluation_output_resumes_after_a_dropped_connection(
    proxy: CuttableProxy, client: Client
) -> None:
    e = client.evaluations.create("x")
    source = PatternFile(8 * BLOCK, seed=6)
    client.evaluations.write_output(e.evaluation_id, source)

    digest, size, cut = hashlib.sha256(), 0, False
    with Client(target=f"127.0.0.1:{proxy.port}", api_key=ADMIN_KEY) as through_proxy:
        for chunk in through_proxy.evaluations.read_output(e.evaluation_id, timeout=60):
            digest.update(chunk)
            size += len(chunk)
            if not cut and size >= 3 * BLOCK:
                cut = True
                proxy.cut()
                proxy.restore()

    assert cut and size == 8 * BLOCK
    assert digest.hexdigest() == source.sha256()
