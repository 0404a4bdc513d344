"""Runs a real LedgerServer in-process on its own event loop thread, on a free port."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from ledger_server.app import LedgerServer
from ledger_server.config import Settings


class ServerThread:
    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = replace(settings, listen="127.0.0.1:0")
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: LedgerServer | None = None
        self.port = 0

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def start(self) -> ServerThread:
        self._thread.start()

        async def build() -> LedgerServer:
            return LedgerServer(self.settings, self.database_url)

        self.server = self.call(build())
        self.port = self.call(self.server.start())
        return self

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float = 0) -> None:
        if self.server is not None:
            self.call(self.server.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
