"""Large contents for tests without holding them: seekable files made up as they are read."""

from __future__ import annotations

import hashlib
import io
import random

BLOCK = 1024 * 1024


class PatternFile:
    """`size` pseudo-random bytes (fixed by `seed`), read like a file, never all held."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self._seed = seed
        self._position = 0

    def _block(self, index: int) -> bytes:
        return random.Random(f"{self._seed}:{index}").randbytes(BLOCK)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        end = self.size if size < 0 else min(self.size, self._position + size)
        parts = []
        while self._position < end:
            index, start = divmod(self._position, BLOCK)
            take = min(BLOCK - start, end - self._position)
            parts.append(self._block(index)[start : start + take])
            self._position += take
        return b"".join(parts)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        self.seek(0)
        while chunk := self.read(BLOCK):
            digest.update(chunk)
        self.seek(0)
        return digest.hexdigest()
