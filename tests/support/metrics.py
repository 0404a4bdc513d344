"""Scraping a metrics endpoint the way Prometheus does: GET /metrics, text format."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape's samples, looked up by sample name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                self._samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float | None:
        """The sample's value; None when the scrape has no such series."""
        return self._samples.get((name, frozenset(labels.items())))


def scrape(port: int, path: str = "/metrics") -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return Scrape(response.read().decode())


def scrape_until(port: int, done: Callable[[Scrape], bool], timeout: float = 10) -> Scrape:
    """Scrapes until `done` holds or `timeout` passes; the last scrape either way.

    For figures that follow something asynchronous (the health watcher's next check);
    the caller still asserts on the scrape it gets back.
    """
    deadline = time.monotonic() + timeout
    while True:
        latest = scrape(port)
        if done(latest) or time.monotonic() > deadline:
            return latest
        time.sleep(0.05)
