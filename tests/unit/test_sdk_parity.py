"""The sync and asyncio SDKs cannot drift apart: the same services on `Client` and
`AsyncClient`, and on each pair of sub-clients the same methods with the same
parameters (names, kinds, defaults). Services are found on the clients themselves,
so a new one is checked as soon as it is added."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from ledger_client import AsyncClient, Client

Parameter = tuple[str, inspect._ParameterKind, Any]


def parameters(function: Any) -> list[Parameter]:
    """A callable's parameters as a caller sees them; annotations differ on purpose
    (`Pager` / `AsyncPager`, `grpc.Channel` / `grpc.aio.Channel`) and are left out."""
    return [
        (parameter.name, parameter.kind, parameter.default)
        for parameter in inspect.signature(function).parameters.values()
    ]


def surface(cls: type) -> dict[str, list[Parameter] | None]:
    """Public members of a class; methods with their parameters, others as None."""
    return {
        name: parameters(member) if callable(member) else None
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
    }


def sub_clients(client: object) -> dict[str, type]:
    """The per-service attributes of a client instance (`results`, ...)."""
    return {name: type(value) for name, value in vars(client).items() if not name.startswith("_")}


def sync_and_async_sub_clients() -> tuple[dict[str, type], dict[str, type]]:
    with Client() as client:  # no call is made, so no server is needed
        sync = sub_clients(client)

    async def async_sub_clients() -> dict[str, type]:
        async with AsyncClient() as client:
            return sub_clients(client)

    return sync, asyncio.run(async_sub_clients())


def test_client_and_async_client_have_the_same_surface() -> None:
    assert parameters(Client) == parameters(AsyncClient)
    assert surface(Client) == surface(AsyncClient)


def test_client_and_async_client_offer_the_same_services() -> None:
    sync, asynchronous = sync_and_async_sub_clients()

    assert "results" in sync
    assert sync.keys() == asynchronous.keys()
    for service, sync_class in sync.items():
        assert asynchronous[service].__name__ == f"Async{sync_class.__name__}", service


def test_each_sync_and_async_sub_client_pair_has_the_same_methods() -> None:
    sync, asynchronous = sync_and_async_sub_clients()

    for service in sync:
        assert parameters(sync[service]) == parameters(asynchronous[service]), service
        sync_surface = surface(sync[service])
        async_surface = surface(asynchronous[service])
        assert sync_surface == async_surface, service
        assert len(sync_surface) > 1, f"{service} offers no calls"


def test_async_sub_clients_never_block() -> None:
    """Each async call is awaited or returns an async iterator, never a sync result."""
    _, asynchronous = sync_and_async_sub_clients()

    for service, cls in asynchronous.items():
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            returns = str(inspect.signature(method).return_annotation)
            assert inspect.iscoroutinefunction(method) or returns.startswith("Async"), (
                f"{service}.{name} returns {returns}"
            )


def test_flat_aliases_take_exactly_the_parameters_of_their_results_call() -> None:
    sync, asynchronous = sync_and_async_sub_clients()

    for client, results in ((Client, sync["results"]), (AsyncClient, asynchronous["results"])):
        aliases = [
            name for name in surface(client) if name.isidentifier() and hasattr(results, name)
        ]
        assert aliases, "the flat calls of old exist"
        for name in aliases:
            assert parameters(getattr(client, name)) == parameters(getattr(results, name))
