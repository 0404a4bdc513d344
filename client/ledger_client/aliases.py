"""`Client.store_estimate` and friends: ResultsStoreService's calls from before sub-clients.

Code written when Ledger had one service called them on the client itself; they keep
working and warn (DeprecationWarning) toward `client.results.<call>`. Services added
since have no aliases: with four services a flat surface would be ambiguous.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def results_alias(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A client method that warns and calls `method` on the client's `results`.

    It has `method`'s signature (for `inspect.signature`, `help()` and type checkers)
    and returns what `method` returns, so sync and asyncio aliases are alike.
    """

    @functools.wraps(method)
    def alias(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        warnings.warn(
            f"{type(self).__name__}.{method.__name__} is deprecated: "
            f"call {type(self).__name__}.results.{method.__name__}",
            DeprecationWarning,
            stacklevel=2,
        )
        return method(self.results, *args, **kwargs)

    alias.__doc__ = f"Deprecated alias of `results.{method.__name__}`.\n\n{method.__doc__ or ''}"
    return alias
