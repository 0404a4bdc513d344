"""Bulk rows through COPY: the cheapest way into PostgreSQL, for the largest tables.

Values are written in COPY's text format by hand because it costs a fraction of binding
each value through the driver: text gets COPY's four escapes, NULL is \\N, JSON is
encoded once, amounts are written exactly as Decimal prints them. This runs for every
value of every resource a StoreEstimate writes, so each type goes straight to its own
formatter and the common cases (plain text, empty JSON) skip the work they do not need.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from psycopg2.extensions import cursor as Cursor  # noqa: N812 - the driver's own name
from sqlalchemy import Table

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
# One encoder for every call: json.dumps with options builds a new one each time.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _str(value: str) -> str:
    # Printable text without a backslash has nothing to escape (tab, newline and carriage
    # return are not printable), and that is nearly every address, name and region.
    if value.isprintable() and "\\" not in value:
        return value
    return value.translate(_ESCAPES)


def _json(value: dict[str, Any] | list[Any]) -> str:
    return _str(_encode_json(value)) if value else ("{}" if isinstance(value, dict) else "[]")


def _bool(value: bool) -> str:
    return "t" if value else "f"


_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: _str,
    int: str,
    Decimal: str,
    bool: _bool,
    dict: _json,
    list: _json,
}


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    formatter = _FORMATTERS.get(type(value))
    if formatter is None:
        raise TypeError(f"no COPY text form for {type(value).__name__}")
    return formatter(value)


def copy_rows(cursor: Cursor, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` (values in the table's column order, defaults last and left out)."""
    if not rows:
        return
    columns = ", ".join(column.name for column in list(table.columns)[: len(rows[0])])
    body = "".join(["\t".join(map(_text, row)) + "\n" for row in rows])
    cursor.copy_expert(
        f"COPY {table.schema}.{table.name} ({columns}) FROM STDIN", io.StringIO(body)
    )
