"""Outputs by size: where they go, their previews, and reads that never serve damage."""

from __future__ import annotations

import hashlib
import io

import pytest

from ledger_server.domain.errors import DataLoss
from ledger_server.domain.evaluations import outputs
from ledger_server.domain.evaluations.outputs import Thresholds
from ledger_server.domain.evaluations.records import Compression, Content, Location


class Blobs:
    def __init__(self) -> None:
        self.stored: dict[bytes, bytes] = {}

    def put(self, sha256: bytes, data: bytes) -> None:
        self.stored.setdefault(sha256, data)

    def open(self, sha256: bytes) -> io.BytesIO:
        return io.BytesIO(self.stored[sha256])


@pytest.mark.parametrize(
    ("size", "location"),
    [
        (0, Location.DATABASE_INLINE),
        (10 * 1024, Location.DATABASE_INLINE),
        (10 * 1024 + 1, Location.DATABASE_COMPRESSED),
        (100 * 1024, Location.DATABASE_COMPRESSED),
        (100 * 1024 + 1, Location.BLOB_STORE),
    ],
)
def test_thresholds_route_by_size(size: int, location: Location) -> None:
    assert Thresholds().location(size) is location


def test_prepare_keeps_small_outputs_as_written() -> None:
    prepared = outputs.prepare(b"hello", Blobs(), Thresholds())
    assert prepared.stored == b"hello"
    assert prepared.content.compression is Compression.NONE
    assert prepared.content.sha256 == hashlib.sha256(b"hello").digest()
    assert (prepared.content.preview, prepared.content.preview_truncated) == ("hello", False)


def test_prepare_compresses_medium_outputs_and_decodes_them_back() -> None:
    data = b"abc" * 10_000
    prepared = outputs.prepare(data, Blobs(), Thresholds())
    assert prepared.content.location is Location.DATABASE_COMPRESSED
    assert prepared.stored is not None and len(prepared.stored) < len(data)
    assert prepared.content.stored_bytes == len(prepared.stored)
    assert outputs.decoded(prepared.content, prepared.stored) == data


def test_prepare_sends_large_outputs_to_the_blob_store_once() -> None:
    blobs = Blobs()
    data = b"x" * 200_000
    first = outputs.prepare(data, blobs, Thresholds())
    second = outputs.prepare(data, blobs, Thresholds())
    assert first.stored is None and first.content == second.content
    assert list(blobs.stored) == [hashlib.sha256(data).digest()]


def test_preview_is_the_first_thousand_characters_without_nul() -> None:
    preview, truncated = outputs.preview_of(("é" * 999 + "\x00" + "z" * 5).encode(), 2010)
    assert len(preview) == 1000 and preview.endswith("\ufffd") and truncated
    whole, cut = outputs.preview_of(b"short", 5)
    assert (whole, cut) == ("short", False)


def test_decoded_refuses_bytes_that_do_not_match_their_digest() -> None:
    prepared = outputs.prepare(b"abc" * 10_000, Blobs(), Thresholds())
    assert prepared.stored is not None
    with pytest.raises(DataLoss):
        outputs.decoded(prepared.content, prepared.stored[:-1] + b"\x00")
    with pytest.raises(DataLoss):
        outputs.decoded(prepared.content, b"not zlib at all")


def _blob(data: bytes) -> tuple[Blobs, Content]:
    blobs = Blobs()
    return blobs, outputs.prepare(data, blobs, Thresholds(inline_max=0, compress_max=0)).content


def test_verified_chunks_reads_a_whole_blob_in_chunks() -> None:
    data = bytes(range(256)) * 100
    blobs, content = _blob(data)
    chunks = list(outputs.verified_chunks(blobs.open(content.sha256), content, 0, 0, 1000))
    assert b"".join(chunks) == data and max(map(len, chunks)) == 1000


def test_verified_chunks_reads_a_range() -> None:
    data = bytes(range(256)) * 100
    blobs, content = _blob(data)
    part = b"".join(outputs.verified_chunks(blobs.open(content.sha256), content, 300, 2500, 1000))
    assert part == data[300:2800]


def test_verified_chunks_holds_the_last_chunk_of_a_damaged_blob_back() -> None:
    data = b"a" * 5000
    blobs, content = _blob(data)
    blobs.stored[content.sha256] = b"a" * 4999 + b"b"
    served: list[bytes] = []
    with pytest.raises(DataLoss):
        for chunk in outputs.verified_chunks(blobs.open(content.sha256), content, 0, 0, 1000):
            served.append(chunk)
    assert sum(map(len, served)) == 4000  # the damaged last chunk never went out


def test_verified_chunks_checks_a_range_before_its_first_byte() -> None:
    blobs, content = _blob(b"a" * 5000)
    blobs.stored[content.sha256] = b"b" + b"a" * 4999
    with pytest.raises(DataLoss):
        next(outputs.verified_chunks(blobs.open(content.sha256), content, 2000, 10, 1000))
