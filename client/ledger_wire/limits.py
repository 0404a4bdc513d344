"""Limits the server enforces and the SDK configures its channels with."""

from __future__ import annotations

# The largest message either side sends or accepts. Large outputs travel as streams of
# smaller chunks; this only bounds one message.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
