"""EvaluationService logs: protobuf in, domain commands; log batches out, rendered once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.domain.errors import Violations
from ledger_server.domain.evaluations.log_lines import (
    MAX_LINES_PER_BATCH,
    AppendLogsCommand,
    LogBatch,
    LogLine,
    LogLineInput,
    LogStream,
)

# google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_STREAMS_IN = {
    el.EVALUATION_LOG_STREAM_UNSPECIFIED: LogStream.STDOUT,
    el.EVALUATION_LOG_STREAM_STDOUT: LogStream.STDOUT,
    el.EVALUATION_LOG_STREAM_STDERR: LogStream.STDERR,
    el.EVALUATION_LOG_STREAM_SYSTEM: LogStream.SYSTEM,
}
_STREAMS_OUT = {
    LogStream.STDOUT: el.EVALUATION_LOG_STREAM_STDOUT,
    LogStream.STDERR: el.EVALUATION_LOG_STREAM_STDERR,
    LogStream.SYSTEM: el.EVALUATION_LOG_STREAM_SYSTEM,
}
# Text per rendered stream message: a batch larger than this (up to 16 MiB of text) is
# sent as several messages, so no reply nears the 16 MiB message limit.
REPLY_CHARACTERS = 4 * 1024 * 1024
# Bytes of one message built by joining rendered batches.
REPLY_BYTES = 4 * 1024 * 1024


def append_command(
    request: es.AppendEvaluationLogsRequest, evaluation_id: str
) -> AppendLogsCommand:
    """The batch in `request` for `evaluation_id`; INVALID_ARGUMENT for a bad stream or time.

    Runs for every line at 100k lines a second: one pass, no per-line allocation beyond
    the line itself. Texts are checked by the domain (`check_batch`).
    """
    violations = Violations()
    lines: list[LogLineInput] = []
    if len(request.lines) > MAX_LINES_PER_BATCH:
        lines = [LogLineInput("")] * len(request.lines)  # the domain names the count
    else:
        streams = _STREAMS_IN
        for index, line in enumerate(request.lines):
            stream = streams.get(line.stream)
            if stream is None:
                violations.add(f"lines[{index}].stream", f"unknown stream {line.stream}")
                stream = LogStream.STDOUT
            log_time = None
            if line.HasField("log_time"):
                log_time = _time_in(line.log_time, f"lines[{index}].log_time", violations)
            lines.append(LogLineInput(line.text, stream, log_time))
    violations.raise_if_any()
    batch_id = request.batch_id
    fingerprint = b""
    if batch_id:
        fingerprint = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()
    return AppendLogsCommand(evaluation_id, tuple(lines), batch_id, fingerprint)


def _time_in(stamp: timestamp_pb2.Timestamp, path: str, violations: Violations) -> datetime | None:
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        violations.add(path, "must be a valid timestamp between years 0001 and 9999")
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def line_out(line: LogLine) -> el.EvaluationLogLine:
    return el.EvaluationLogLine(
        sequence=line.sequence,
        text=line.text,
        stream=_STREAMS_OUT[line.stream],
        log_time=_time_out(line.log_time),
    )


def lines_out(lines: Sequence[LogLine]) -> list[el.EvaluationLogLine]:
    return [line_out(line) for line in lines]


def _time_out(moment: datetime) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(
        seconds=(moment - _EPOCH) // _SECOND, nanos=moment.microsecond * 1000
    )


def rendered_batch(batch: LogBatch) -> list[bytes]:
    """The stream messages of `batch`, serialized once and kept on the batch, so every
    follower of the evaluation sends the same bytes."""
    rendered: list[bytes] | None = batch.rendered
    if rendered is None:
        rendered = batch.rendered = _render(batch.lines)
    return rendered


def _render(lines: Sequence[LogLine]) -> list[bytes]:
    messages: list[bytes] = []
    reply = es.StreamEvaluationLogsResponse()
    characters = 0
    stamp_of: tuple[datetime, timestamp_pb2.Timestamp] | None = None
    for line in lines:
        if characters > REPLY_CHARACTERS:
            messages.append(reply.SerializeToString())
            reply, characters = es.StreamEvaluationLogsResponse(), 0
        # Lines stored together mostly share their time: convert it once.
        if stamp_of is None or stamp_of[0] != line.log_time:
            stamp_of = (line.log_time, _time_out(line.log_time))
        reply.lines.add(
            sequence=line.sequence,
            text=line.text,
            stream=_STREAMS_OUT[line.stream],
            log_time=stamp_of[1],
        )
        reply.last_sequence = line.sequence
        characters += len(line.text)
    if reply.lines:
        messages.append(reply.SerializeToString())
    return messages


def joined_replies(batches: Sequence[LogBatch]) -> list[bytes]:
    """The stream messages for `batches`, consecutive ones joined into one message of at
    most REPLY_BYTES: serialized messages of one type concatenate into their merge
    (repeated `lines` append, `last_sequence` is the last one's), so joining copies
    bytes, never lines."""
    if len(batches) == 1:
        return rendered_batch(batches[0])  # the usual case: a follower keeping up
    joined: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for batch in batches:
        for part in rendered_batch(batch):
            if parts and size + len(part) > REPLY_BYTES:
                joined.append(b"".join(parts) if len(parts) > 1 else parts[0])
                parts, size = [], 0
            parts.append(part)
            size += len(part)
    if parts:
        joined.append(b"".join(parts) if len(parts) > 1 else parts[0])
    return joined
