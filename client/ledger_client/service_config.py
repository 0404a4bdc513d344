"""The channel's gRPC service config: retry UNAVAILABLE on every ledger.v1 service.

The services come from the generated descriptors, not from a list kept by hand, so a
service added to protos/ledger/v1 is retried as soon as `make gen` has produced its
`*_pb2.py`.

Retrying every method is safe only because Ledger's reads are idempotent and every
creating RPC carries a `request_id` that the SDK fills in (a repeat returns the first
answer and writes nothing). A sub-client for a new creating RPC must fill it too.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Iterable

GENERATED_PACKAGE = "ledger.v1"

# gRPC applies this to a call until the first response message arrives; a stream
# that fails later is resumed from its cursor instead (ledger_client.streams).
RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def services_in(package_name: str) -> tuple[str, ...]:
    """Full names of the services the package's generated `*_pb2` modules declare."""
    package = importlib.import_module(package_name)
    services: set[str] = set()
    for module in pkgutil.iter_modules(package.__path__):
        # `*_pb2_grpc` modules hold stubs; the descriptors live in `*_pb2`.
        if not module.name.endswith("_pb2"):
            continue
        generated = importlib.import_module(f"{package_name}.{module.name}")
        services.update(
            service.full_name for service in generated.DESCRIPTOR.services_by_name.values()
        )
    return tuple(sorted(services))


def retry_service_config(services: Iterable[str]) -> str:
    """A service config (JSON) that retries UNAVAILABLE on every method of `services`."""
    names = [{"service": service} for service in services]
    if not names:
        # gRPC would reject the config and with it the channel, far from the cause.
        raise ValueError("no services to retry: is the generated code missing?")
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}]})


@functools.cache
def ledger_service_config() -> str:
    """The service config every Ledger channel is built with."""
    return retry_service_config(services_in(GENERATED_PACKAGE))
