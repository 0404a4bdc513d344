"""Wire shapes every service converts the same way: timestamps and free-form JSON.

No rules live here: a timestamp outside what google.protobuf.Timestamp allows is refused
because it cannot be a time at all; what range a field accepts is the domain's call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from ledger_server.domain.errors import FieldViolation, InvalidArgument

# google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799


def struct_in(struct: struct_pb2.Struct) -> dict[str, Any]:
    fields = struct.fields
    if not fields:
        return {}  # most resources carry no assumptions
    # Keys and lookups: the map's items() view is twice as slow (it runs in Python).
    return {key: _value_in(fields[key]) for key in fields}


def _value_in(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_in(value.struct_value)
    if kind == "list_value":
        return [_value_in(item) for item in value.list_value.values]
    if kind in (None, "null_value"):
        return None
    return getattr(value, kind)


def time_in(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        raise InvalidArgument(
            [FieldViolation(field, "must be a valid timestamp between years 0001 and 9999")]
        )
    return stamp.ToDatetime(tzinfo=UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def time_out(moment: datetime) -> timestamp_pb2.Timestamp:
    # Exact integer arithmetic (floor division keeps nanos positive before 1970), and a
    # few times cheaper than Timestamp.FromDatetime on every job a reply carries.
    return timestamp_pb2.Timestamp(
        seconds=(moment - _EPOCH) // _SECOND, nanos=moment.microsecond * 1000
    )
