"""How `Client` and `AsyncClient` build their channel, and what every call carries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import grpc

from ledger_client.service_config import ledger_service_config
from ledger_wire.limits import MAX_MESSAGE_BYTES

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "ledger-client/0.1"

NO_DEADLINE: Final = math.inf
"""A call's `timeout=` for no deadline at all, e.g. to follow a stream for hours."""

CallMetadata = Sequence[tuple[str, str]]
Metadata = tuple[tuple[str, str], ...]
ChannelOptions = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class CallSettings:
    """What every call of one client carries: a default deadline and the API key."""

    timeout: float
    api_key: str | None = None

    def __post_init__(self) -> None:
        # The default stays a real deadline, so a call that hangs fails instead of
        # hanging its caller; only a call itself may ask for NO_DEADLINE.
        if not 0 < self.timeout < math.inf:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")

    def deadline(self, timeout: float | None) -> float | None:
        """gRPC's `timeout=` for a call: its own, the client's default, or None for none."""
        if timeout is None:
            return self.timeout
        if timeout == NO_DEADLINE:
            return None
        if not timeout > 0:  # also NaN, which gRPC would treat as "already expired"
            raise ValueError(f"timeout must be positive or NO_DEADLINE, got {timeout}")
        return timeout

    def metadata(self, extra: CallMetadata) -> Metadata:
        if self.api_key is None:
            return tuple(extra)
        return (*extra, ("authorization", f"Bearer {self.api_key}"))


def channel_options(options: Sequence[tuple[str, Any]] = ()) -> ChannelOptions:
    """The options of a Ledger channel; an entry of `options` replaces the one of its name.

    Retries of UNAVAILABLE on every ledger.v1 service (see `service_config`), and the
    server's message limit both ways: the SDK refuses to send what the server would
    refuse to read (ResourceExhausted) and accepts every reply the server may send.
    """
    merged: dict[str, Any] = {
        "grpc.enable_retries": 1,
        "grpc.service_config": ledger_service_config(),
        "grpc.primary_user_agent": USER_AGENT,
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    }
    merged.update(dict(options))
    return tuple(merged.items())


@dataclass(frozen=True)
class ChannelSpec:
    """Where and how to open a channel; the same for the sync and the asyncio client."""

    target: str
    credentials: grpc.ChannelCredentials | None
    options: ChannelOptions

    def open(self) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(self.target, options=self.options)
        return grpc.secure_channel(self.target, self.credentials, options=self.options)

    def open_aio(self) -> grpc.aio.Channel:
        if self.credentials is None:
            return grpc.aio.insecure_channel(self.target, options=self.options)
        return grpc.aio.secure_channel(self.target, self.credentials, options=self.options)


def channel_spec(
    *,
    target: str = DEFAULT_TARGET,
    secure: bool = False,
    root_certificates: bytes | None = None,
    private_key: bytes | None = None,
    certificate_chain: bytes | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> ChannelSpec:
    if (private_key is None) != (certificate_chain is None):
        raise ValueError("mutual TLS needs both private_key and certificate_chain")
    credentials = None
    if secure or root_certificates or private_key:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
        )
    return ChannelSpec(target=target, credentials=credentials, options=channel_options(options))


def refuse_spec_with_channel(spec: ChannelSpec) -> None:
    """A caller's own channel already has its target, TLS and options; a second set
    given next to it would be ignored, so it is refused instead."""
    if spec != channel_spec():
        raise ValueError(
            "channel= already decides target, TLS and options; give those to the channel"
        )
