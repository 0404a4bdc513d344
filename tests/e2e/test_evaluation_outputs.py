"""Outputs by size, uploads and reads as byte streams, and damaged blobs."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import BinaryIO

import grpc
import pytest

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger.v1 import evaluation_service_pb2_grpc as es_grpc
from ledger_client import Client, DataLoss, FailedPrecondition, NotFound, OutOfRange
from ledger_server.rpc.evaluations.servicer import EvaluationServicer
from tests.conftest import WRITER_KEY
from tests.support.byte_sources import BLOCK, PatternFile
from tests.support.server import ServerThread

MB = 1024 * 1024


def digest_of(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


@pytest.mark.parametrize(
    ("size", "location", "compression"),
    [
        (10 * 1024, ev.STORAGE_LOCATION_DATABASE_INLINE, ev.COMPRESSION_NONE),
        (10 * 1024 + 1, ev.STORAGE_LOCATION_DATABASE_COMPRESSED, ev.COMPRESSION_ZLIB),
        (100 * 1024, ev.STORAGE_LOCATION_DATABASE_COMPRESSED, ev.COMPRESSION_ZLIB),
        (100 * 1024 + 1, ev.STORAGE_LOCATION_BLOB_STORE, ev.COMPRESSION_NONE),
    ],
)
def test_update_evaluation_stores_an_output_by_its_size(
    client: Client, size: int, location: int, compression: int
) -> None:
    text = ("line of output\n" * (size // 15 + 1))[:size]
    e = client.evaluations.create("x")

    updated = client.evaluations.update(e.evaluation_id, output=text)
    info = client.evaluations.get_storage_info(e.evaluation_id).output

    assert (info.location, info.compression, info.size_bytes) == (location, compression, size)
    assert info.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert info.preview == text[:1000] and info.preview_truncated
    assert updated.output_info == info
    if compression == ev.COMPRESSION_ZLIB:
        assert info.stored_bytes < size
    assert client.evaluations.get(e.evaluation_id, full=True).output == text
    assert b"".join(client.evaluations.read_output(e.evaluation_id)) == text.encode()


def test_update_evaluation_stores_identical_blobs_once(
    server: ServerThread, client: Client
) -> None:
    text = "same large output\n" * 10_000
    first = client.evaluations.create("x")
    second = client.evaluations.create("y")
    client.evaluations.update(first.evaluation_id, output=text)
    client.evaluations.update(second.evaluation_id, error=text)

    digest = hashlib.sha256(text.encode()).hexdigest()
    blobs = list((server.settings.blob_root / "sha256").rglob("*"))

    assert [b for b in blobs if b.name == digest[2:]] != []
    assert len([b for b in blobs if b.name == digest[2:]]) == 1
    assert client.evaluations.get_storage_info(second.evaluation_id).error.sha256 == digest


@pytest.mark.parametrize("size", [10 * MB, 200 * MB])
def test_write_evaluation_output_round_trips_large_outputs_with_their_hash(
    client: Client, size: int
) -> None:
    source = PatternFile(size, seed=size)
    expected = source.sha256()
    e = client.evaluations.create("x", status="running")

    written = client.evaluations.write_output(e.evaluation_id, source, timeout=120)

    assert written.output_info.sha256 == expected
    assert written.output_info.location == ev.STORAGE_LOCATION_BLOB_STORE
    assert digest_of(client.evaluations.read_output(e.evaluation_id, timeout=120)) == (
        expected,
        size,
    )


def test_read_evaluation_output_reads_a_range(client: Client) -> None:
    source = PatternFile(3 * MB + 17, seed=7)
    e = client.evaluations.create("x")
    client.evaluations.write_output(e.evaluation_id, source, channel="error")

    part = b"".join(
        client.evaluations.read_output(
            e.evaluation_id, channel="error", read_offset=BLOCK - 5, read_limit=BLOCK + 10
        )
    )

    source.seek(BLOCK - 5)
    assert part == source.read(BLOCK + 10)
    with pytest.raises(OutOfRange):
        list(client.evaluations.read_output(e.evaluation_id, channel="error", read_offset=4 * MB))
    with pytest.raises(NotFound):
        list(client.evaluations.read_output(e.evaluation_id))  # no stdout was written


def _messages(
    evaluation_id: str, upload_id: str, source: PatternFile, start: int, end: int, finish: bool
) -> Iterator[es.WriteEvaluationOutputRequest]:
    source.seek(start)
    offset = start
    while offset < end:
        data = source.read(min(BLOCK, end - offset))
        yield es.WriteEvaluationOutputRequest(
            evaluation_id=evaluation_id, upload_id=upload_id, write_offset=offset, data=data
        )
        offset += len(data)
    if finish:
        yield es.WriteEvaluationOutputRequest(write_offset=offset, finish_write=True)


def test_write_evaluation_output_interrupted_is_resumed_from_the_committed_size(
    server: ServerThread, client: Client
) -> None:
    source = PatternFile(5 * MB + 3, seed=11)
    e = client.evaluations.create("x")
    metadata = (("x-api-key", WRITER_KEY),)
    with grpc.insecure_channel(server.target) as channel:
        stub = es_grpc.EvaluationServiceStub(channel)
        # A writer that stops after 2 MiB, as if its connection dropped.
        partial = stub.WriteEvaluationOutput(
            _messages(e.evaluation_id, "upload-resume-1", source, 0, 2 * BLOCK, False),
            metadata=metadata,
        )
        assert partial.committed_size == 2 * BLOCK and not partial.HasField("evaluation")
        with pytest.raises(grpc.RpcError) as refused:
            stub.WriteEvaluationOutput(
                _messages(e.evaluation_id, "upload-resume-1", source, BLOCK, 2 * BLOCK, False),
                metadata=metadata,
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    status = client.evaluations.query_write_status("upload-resume-1")
    assert (status.committed_size, status.complete) == (2 * BLOCK, False)

    written = client.evaluations.write_output(e.evaluation_id, source, upload_id="upload-resume-1")

    assert written.output_info.sha256 == source.sha256()
    assert client.evaluations.query_write_status("upload-resume-1").complete
    again = client.evaluations.write_output(e.evaluation_id, source, upload_id="upload-resume-1")
    assert again.version == written.version  # a finished upload is answered, not repeated


def test_write_evaluation_output_to_a_finished_evaluation_is_failed_precondition(
    client: Client,
) -> None:
    e = client.evaluations.create("x", status="completed")

    with pytest.raises(FailedPrecondition):
        client.evaluations.write_output(e.evaluation_id, b"late output")


def test_read_evaluation_output_of_a_damaged_blob_is_data_loss(
    server: ServerThread, client: Client
) -> None:
    source = PatternFile(2 * MB, seed=99)
    e = client.evaluations.create("x")
    written = client.evaluations.write_output(e.evaluation_id, source)
    digest = written.output_info.sha256
    path = server.settings.blob_root / "sha256" / digest[:2] / digest[2:]
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))

    with pytest.raises(DataLoss) as lost:
        list(client.evaluations.read_output(e.evaluation_id))
    assert lost.value.reason == "CONTENT_CORRUPTED"
    with pytest.raises(DataLoss):
        list(client.evaluations.read_output(e.evaluation_id, read_offset=10, read_limit=10))
    path.unlink()
    with pytest.raises(DataLoss) as missing:
        list(client.evaluations.read_output(e.evaluation_id))
    assert missing.value.reason == "CONTENT_MISSING"


def test_read_evaluation_output_of_a_damaged_full_view_is_data_loss(
    server: ServerThread, client: Client
) -> None:
    text = "x" * (200 * 1024)
    e = client.evaluations.create("x")
    written = client.evaluations.update(e.evaluation_id, output=text)
    digest = written.output_info.sha256
    path = server.settings.blob_root / "sha256" / digest[:2] / digest[2:]
    path.write_bytes(b"y" * len(text))

    with pytest.raises(DataLoss):
        client.evaluations.get(e.evaluation_id, full=True)


def test_get_storage_overview_reports_each_backend(client: Client) -> None:
    e = client.evaluations.create("x")
    client.evaluations.update(e.evaluation_id, output="o" * 300_000)

    backends = {b.name: b for b in client.evaluations.get_storage_overview().backends}

    assert set(backends) == {"database", "blob_store"}
    assert all(b.health == es.BACKEND_HEALTH_HEALTHY for b in backends.values())
    assert backends["database"].rows > 0 and backends["database"].bytes > 0
    assert backends["blob_store"].files >= 1 and backends["blob_store"].bytes >= 300_000
    assert backends["blob_store"].free_bytes > 0


def test_blob_io_runs_on_the_blob_threads_never_the_database_threads(
    server: ServerThread, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert server.server is not None
    (servicer,) = [s for s in server.server.servicers if isinstance(s, EvaluationServicer)]
    threads: list[str] = []
    blobs = servicer.blobs
    put, open_blob = blobs.put, blobs.open

    def recording_put(sha256: bytes, data: bytes) -> None:
        threads.append(threading.current_thread().name)
        put(sha256, data)

    def recording_open(sha256: bytes) -> BinaryIO:
        threads.append(threading.current_thread().name)
        return open_blob(sha256)

    monkeypatch.setattr(blobs, "put", recording_put)
    monkeypatch.setattr(blobs, "open", recording_open)
    e = client.evaluations.create("x")
    client.evaluations.update(e.evaluation_id, output="b" * 150_000)
    assert len(b"".join(client.evaluations.read_output(e.evaluation_id))) == 150_000

    assert len(threads) == 2
    assert all(name.startswith("ledger-blob") for name in threads), threads
