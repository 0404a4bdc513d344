"""The byte streams of EvaluationService: uploads in, contents out, with flat memory.

Each chunk is written to (or read from) a file on a blob thread as it passes, so a
stream holds at most a chunk or two in memory whatever the content's size; the database
threads see only the small units of work before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.domain import idempotency
from ledger_server.domain.errors import FieldViolation, InvalidArgument, NotFound, OutOfRange
from ledger_server.domain.evaluations import outputs
from ledger_server.domain.evaluations.outputs import PreparedContent, Thresholds
from ledger_server.domain.evaluations.records import Channel, Content, Location
from ledger_server.storage.evaluations.blob_store import FileBlobStore
from ledger_server.storage.evaluations.uploads import StagedUpload, UploadArea, UploadOwner

# The most `data` one upload message may carry, and what reads send per message: well
# below both sides' 16 MiB message limit.
CHUNK_BYTES = 1024 * 1024

_CHANNELS = {
    es.OUTPUT_CHANNEL_UNSPECIFIED: Channel.OUTPUT,
    es.OUTPUT_CHANNEL_OUTPUT: Channel.OUTPUT,
    es.OUTPUT_CHANNEL_ERROR: Channel.ERROR,
}


def channel_in(value: int) -> Channel:
    try:
        return _CHANNELS[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument([FieldViolation("channel", f"unknown channel {value}")]) from None


def check_upload_id(upload_id: str) -> None:
    if not upload_id:
        raise InvalidArgument([FieldViolation("upload_id", "is required")])
    idempotency.check_request_id(upload_id, field="upload_id")


def check_chunk(message: es.WriteEvaluationOutputRequest) -> None:
    if len(message.data) > CHUNK_BYTES:
        raise InvalidArgument(
            [FieldViolation("data", f"must be at most {CHUNK_BYTES} bytes per message")]
        )
    if message.write_offset < 0:
        raise InvalidArgument([FieldViolation("write_offset", "must not be negative")])


def check_same_upload(
    message: es.WriteEvaluationOutputRequest, first: es.WriteEvaluationOutputRequest
) -> None:
    """A later message may repeat the first one's names, never change them."""
    for field in ("evaluation_id", "upload_id"):
        value = getattr(message, field)
        if value and value != getattr(first, field):
            raise InvalidArgument(
                [FieldViolation(field, "must be empty or the first message's in later ones")]
            )
    if message.channel and message.channel != first.channel:
        raise InvalidArgument(
            [FieldViolation("channel", "must be unset or the first message's in later ones")]
        )


def owner_of(first: es.WriteEvaluationOutputRequest) -> UploadOwner:
    return UploadOwner(first.evaluation_id, channel_in(first.channel).value)


def finish(
    staged: StagedUpload, blobs: FileBlobStore, uploads: UploadArea, thresholds: Thresholds
) -> PreparedContent:
    """The staged upload as a content ready to record: small ones read back to go to the
    database, large ones moved into the blob store (blocking: run on a blob thread)."""
    size = staged.size
    location = thresholds.location(size)
    if location is not Location.BLOB_STORE:
        return outputs.prepare(staged.head(size), blobs, thresholds)
    digest = staged.sha256()
    head = staged.head(outputs.PREVIEW_BYTES)
    blobs.adopt(digest, staged.part)
    return PreparedContent(outputs.describe(digest, size, head, location), None)


def content_of(evaluation: Any, channel: Channel) -> Content:
    content: Content | None = evaluation.content(channel)
    if content is None:
        raise NotFound(
            "evaluation_output", f"{evaluation.evaluation_id}@{evaluation.version}/{channel.value}"
        )
    return content


def check_range(request: es.ReadEvaluationOutputRequest, content: Content) -> None:
    if request.read_offset < 0:
        raise InvalidArgument([FieldViolation("read_offset", "must not be negative")])
    if request.read_limit < 0:
        raise InvalidArgument([FieldViolation("read_limit", "must not be negative")])
    if request.read_offset > content.size:
        raise OutOfRange(
            f"read_offset {request.read_offset} is past the end ({content.size} bytes)",
            reason="READ_OFFSET_PAST_END",
            metadata={"size_bytes": str(content.size)},
        )


def database_chunks(data: bytes, offset: int, limit: int) -> Iterator[bytes]:
    end = min(len(data), offset + limit) if limit else len(data)
    for start in range(offset, end, CHUNK_BYTES):
        yield data[start : min(end, start + CHUNK_BYTES)]
