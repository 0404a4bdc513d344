"""Iterators that fetch list pages lazily, following `next_page_token`.

A page is fetched only when the caller has consumed the previous one, so breaking out
of a loop early costs no further calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Protocol, TypeVar

ItemT = TypeVar("ItemT")


class PagedRequest(Protocol):
    """A List request (AIP-158): the pager sets its `page_token` for each page."""

    page_token: str


# Given a page token ("" for the first page), the page's items and the next token
# ("" when there are no more pages).
FetchPage = Callable[[str], tuple[Sequence[ItemT], str]]
FetchPageAsync = Callable[[str], Awaitable[tuple[Sequence[ItemT], str]]]


class Pager(Iterator[ItemT]):
    """Yields every item of every page. Use either the items or `pages()`, not both."""

    def __init__(self, fetch_page: FetchPage[ItemT]) -> None:
        self._fetch_page = fetch_page
        self._items: Iterator[ItemT] | None = None

    def pages(self) -> Iterator[Sequence[ItemT]]:
        token = ""
        while True:
            items, token = self._fetch_page(token)
            yield items
            if not token:
                return

    def _all_items(self) -> Iterator[ItemT]:
        for page in self.pages():
            yield from page

    def __next__(self) -> ItemT:
        if self._items is None:
            self._items = self._all_items()
        return next(self._items)


class AsyncPager(AsyncIterator[ItemT]):
    """Yields every item of every page. Use either the items or `pages()`, not both."""

    def __init__(self, fetch_page: FetchPageAsync[ItemT]) -> None:
        self._fetch_page = fetch_page
        self._items: AsyncIterator[ItemT] | None = None

    async def pages(self) -> AsyncIterator[Sequence[ItemT]]:
        token = ""
        while True:
            items, token = await self._fetch_page(token)
            yield items
            if not token:
                return

    async def _all_items(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in page:
                yield item

    async def __anext__(self) -> ItemT:
        if self._items is None:
            self._items = self._all_items()
        return await anext(self._items)
