"""What `Client` and `AsyncClient` share about the channel and every call's options."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0
SERVICE_NAME = "ledger.v1.ResultsStoreService"
USER_AGENT = "ledger-client/0.1"

# gRPC retries UNAVAILABLE itself (the connection failed or the server is draining).
# This is safe for every method: reads are idempotent and StoreEstimate always
# carries a request_id, so a retried store returns the first job.
RETRY_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": SERVICE_NAME}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ConnectionSettings:
    target: str
    api_key: str | None
    timeout: float
    credentials: grpc.ChannelCredentials | None
    options: tuple[tuple[str, Any], ...]

    def deadline(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    def metadata(self, extra: Sequence[tuple[str, str]]) -> Metadata:
        if self.api_key is None:
            return tuple(extra)
        return (*extra, ("authorization", f"Bearer {self.api_key}"))


def connection_settings(
    *,
    target: str,
    api_key: str | None,
    timeout: float,
    secure: bool,
    root_certificates: bytes | None,
    private_key: bytes | None,
    certificate_chain: bytes | None,
    options: Sequence[tuple[str, Any]],
) -> ConnectionSettings:
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    if (private_key is None) != (certificate_chain is None):
        raise ValueError("mutual TLS needs both private_key and certificate_chain")
    credentials = None
    if secure or root_certificates or private_key:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
        )
    # A caller's option replaces the default of the same name instead of competing
    # with it.
    merged: dict[str, Any] = {
        "grpc.enable_retries": 1,
        "grpc.service_config": RETRY_SERVICE_CONFIG,
        "grpc.primary_user_agent": USER_AGENT,
    }
    merged.update(dict(options))
    return ConnectionSettings(
        target=target,
        api_key=api_key,
        timeout=timeout,
        credentials=credentials,
        options=tuple(merged.items()),
    )
