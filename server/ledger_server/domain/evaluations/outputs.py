"""Outputs and errors by size: inline, compressed, or in the content-addressed blob store.

Up to `inline_max` bytes an output is kept in the database as written; up to
`compress_max` compressed there; above that it goes to the blob store, a file named by
its SHA-256. Blobs are kept uncompressed so a ranged read seeks instead of inflating
everything before it. Every stored content keeps its digest, size and a preview, and a
read that finds bytes not matching the digest is DATA_LOSS.

Preparing a content (hashing, compressing, writing a blob) is file and CPU work: the
RPC layer runs it on the blob threads, never on the database threads, before the unit
of work that records it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ledger_server.domain.errors import DataLoss
from ledger_server.domain.evaluations.records import Compression, Content, Location

PREVIEW_CHARS = 1000
# Enough bytes for PREVIEW_CHARS whole characters: UTF-8 needs at most 4 per character.
PREVIEW_BYTES = 4 * PREVIEW_CHARS + 4
ZLIB_LEVEL = 6


@dataclass(frozen=True)
class Thresholds:
    """Seed defaults: 10 KB inline, 100 KB before the blob store."""

    inline_max: int = 10 * 1024
    compress_max: int = 100 * 1024

    def location(self, size: int) -> Location:
        if size <= self.inline_max:
            return Location.DATABASE_INLINE
        if size <= self.compress_max:
            return Location.DATABASE_COMPRESSED
        return Location.BLOB_STORE


@dataclass(frozen=True)
class PreparedContent:
    """A content ready to record: its description, and the bytes the database keeps
    (None when they are in the blob store, already written)."""

    content: Content
    stored: bytes | None


class BlobStore(Protocol):
    """Files named by the SHA-256 of their bytes; writing one twice stores it once."""

    def put(self, sha256: bytes, data: bytes) -> None:
        """Stores `data` atomically (temp file, fsync, rename) unless already stored."""

    def open(self, sha256: bytes) -> BinaryIO:
        """The blob for reading; DataLoss when it is missing."""


def preview_of(head: bytes, size: int) -> tuple[str, bool]:
    """The first characters of a content whose first bytes are `head` (any length)."""
    text = head[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    preview = text[:PREVIEW_CHARS].replace("\x00", "\ufffd")  # text columns hold no NUL
    truncated = size > PREVIEW_BYTES or len(text) > PREVIEW_CHARS
    return preview, truncated


def describe(sha256: bytes, size: int, head: bytes, location: Location) -> Content:
    """A content of `size` bytes stored uncompressed at `location`."""
    preview, truncated = preview_of(head, size)
    return Content(sha256, size, location, Compression.NONE, size, preview, truncated)


def prepare(data: bytes, blobs: BlobStore, thresholds: Thresholds) -> PreparedContent:
    """Hashes `data`, picks where it lives, and writes it there if that is the blob store."""
    digest = hashlib.sha256(data).digest()
    location = thresholds.location(len(data))
    preview, truncated = preview_of(data, len(data))
    if location is Location.BLOB_STORE:
        blobs.put(digest, data)
        return PreparedContent(describe(digest, len(data), data, location), None)
    compression = Compression.NONE
    stored = data
    if location is Location.DATABASE_COMPRESSED:
        compression = Compression.ZLIB
        stored = zlib.compress(data, ZLIB_LEVEL)
    content = Content(digest, len(data), location, compression, len(stored), preview, truncated)
    return PreparedContent(content, stored)


def decoded(content: Content, stored: bytes) -> bytes:
    """The content's bytes from what the database keeps; DataLoss if they do not match."""
    try:
        data = zlib.decompress(stored) if content.compression is Compression.ZLIB else stored
    except zlib.error:
        raise _damaged(content) from None
    if len(data) != content.size or hashlib.sha256(data).digest() != content.sha256:
        raise _damaged(content)
    return data


def verified_chunks(
    source: BinaryIO, content: Content, offset: int, limit: int, chunk_size: int
) -> Iterator[bytes]:
    """The bytes [offset, offset + limit) of a blob, in chunks, never unchecked.

    A read to the end from the start hashes as it goes and holds its last chunk back
    until the digest matches: one pass, and a damaged blob ends in DataLoss before its
    last byte is served. Any other range is checked by a full pass first.
    """
    end = min(content.size, offset + limit) if limit else content.size
    if offset == 0 and end == content.size:
        yield from _hashing_pass(source, content, chunk_size)
        return
    _check_whole(source, content, chunk_size)
    source.seek(offset)
    remaining = end - offset
    while remaining > 0:
        data = source.read(min(chunk_size, remaining))
        if not data:
            raise _damaged(content)  # shorter than recorded, since the check a moment ago
        remaining -= len(data)
        yield data


def _hashing_pass(source: BinaryIO, content: Content, chunk_size: int) -> Iterator[bytes]:
    digest = hashlib.sha256()
    held: bytes | None = None
    total = 0
    while True:
        data = source.read(chunk_size)
        if not data:
            break
        digest.update(data)
        total += len(data)
        if held is not None:
            yield held
        held = data
    if total != content.size or digest.digest() != content.sha256:
        raise _damaged(content)
    if held is not None:
        yield held


def _check_whole(source: BinaryIO, content: Content, chunk_size: int) -> None:
    digest = hashlib.sha256()
    total = 0
    while data := source.read(chunk_size):
        digest.update(data)
        total += len(data)
    if total != content.size or digest.digest() != content.sha256:
        raise _damaged(content)


def _damaged(content: Content) -> DataLoss:
    return DataLoss(
        f"the stored content {content.sha256_hex} no longer matches its SHA-256; it is not served",
        reason="CONTENT_CORRUPTED",
        metadata={"sha256": content.sha256_hex},
    )
