"""Counting the messages inside a serialized request without building them.

Parsing a protobuf message costs time per message inside it, and the parser holds the
GIL throughout: 16 MiB of empty repeated entries is eight million messages and seconds
in which no other call is answered, whichever thread parses. `MessageCounter` counts
them first, in Python, which lets the event loop run in between: it parses each level
"shallowly", with every message field read as bytes (a copy of the descriptors with
message types turned into `bytes`, enums into `int32`), so the C parser only skips over
what it does not count, and descends one level at a time up to `MAX_DEPTH`.

One shallow parse still builds every entry of its level in one C call: a level of
eight million empty entries held the GIL for over a second on a slow machine. Every
field takes at least two bytes (a tag and a value), so a level of n bytes holds at most
n / 2 entries; a level long enough to hold more than the budget has left is first walked
in Python, field by field, over the wire format (`_fields_within`): slower per entry,
but the GIL changes hands between steps, and it stops as soon as the level holds more
fields than that. Ordinary requests (a batch of log lines, of cost records) are far too
short to be walked, so they pay nothing for it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

# protobuf's own nesting limit: a request nested deeper would not parse anyway.
MAX_DEPTH = 100

_FIELD = descriptor_pb2.FieldDescriptorProto


class TooComplex(Exception):
    """The request holds more messages than allowed, or nests deeper than MAX_DEPTH."""


class MessageCounter:
    """Counts the messages nested in serialized `descriptor` messages, up to a limit."""

    def __init__(self, descriptor: Descriptor) -> None:
        file = descriptor_pb2.FileDescriptorProto(
            name=f"shallow/{descriptor.full_name}.proto", package="shallow", syntax="proto2"
        )
        # Shallow types are named M0, M1, ... in the order their messages are first met.
        names: dict[str, str] = {}

        def shallow_name(message: Descriptor) -> str:
            return names.setdefault(message.full_name, f"M{len(names)}")

        # Per shallow type: its message fields as (field name, shallow type, repeated).
        self._nested: dict[str, list[tuple[str, str, bool]]] = {}
        self._root = shallow_name(descriptor)
        pending = [descriptor]
        while pending:
            message = pending.pop()
            name = shallow_name(message)
            if name in self._nested:
                continue
            shallow = file.message_type.add(name=name)
            self._nested[name] = []
            for field in message.fields:
                copy = shallow.field.add(
                    name=field.name,
                    number=field.number,
                    label=_FIELD.LABEL_REPEATED if field.is_repeated else _FIELD.LABEL_OPTIONAL,
                    type=_shallow_type(field),
                )
                nested = field.message_type
                if field.type == FieldDescriptor.TYPE_MESSAGE and nested is not None:
                    self._nested[name].append((copy.name, shallow_name(nested), field.is_repeated))
                    pending.append(nested)
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file)
        self._classes: dict[str, Any] = {
            name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"shallow.{name}"))
            for name in self._nested
        }

    def count(self, data: bytes, limit: int) -> int:
        """The messages nested in `data`; TooComplex past `limit`, DecodeError if malformed."""
        total = 0
        pending: list[tuple[str, bytes, int]] = [(self._root, data, 0)]
        while pending:
            name, chunk, depth = pending.pop()
            if depth > MAX_DEPTH:
                raise TooComplex(f"nests deeper than {MAX_DEPTH} levels")
            if len(chunk) > 2 * (limit - total):  # it may hold more fields than that
                _fields_within(chunk, limit - total, limit)
            shallow = self._classes[name].FromString(chunk)
            for field, nested, repeated in self._nested[name]:
                if repeated:
                    items = getattr(shallow, field)
                    total += len(items)
                    if total > limit:
                        raise TooComplex(f"holds more than {limit:,} messages")
                    pending.extend((nested, item, depth + 1) for item in items)
                elif shallow.HasField(field):
                    total += 1
                    pending.append((nested, getattr(shallow, field), depth + 1))
        return total


def _shallow_type(field: FieldDescriptor) -> int:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _FIELD.TYPE_BYTES
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _FIELD.TYPE_INT32
    return int(field.type)


def _fields_within(chunk: bytes, budget: int, limit: int) -> None:
    """Walks the fields of one serialized message level without building them: TooComplex
    once they outnumber `budget` (every message entry is a field, so a level within its
    budget of fields is within its budget of messages), DecodeError if malformed."""
    fields = 0
    position, end = 0, len(chunk)
    while position < end:
        tag, position = _varint(chunk, position)
        wire_type = tag & 7
        if wire_type == 0:
            _, position = _varint(chunk, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            length, position = _varint(chunk, position)
            position += length
        elif wire_type == 5:
            position += 4
        else:  # groups (3, 4) exist only in proto2 schemas; Ledger's are proto3
            raise DecodeError(f"unexpected wire type {wire_type}")
        fields += 1
        if fields > budget:
            raise TooComplex(f"holds more than {limit:,} messages")
    if position != end:
        raise DecodeError("truncated message")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise DecodeError("truncated or overlong varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
