"""The content-addressed blob store: one file per SHA-256, written atomically.

A blob lives at `<root>/sha256/ab/cdef...` (the first two hex digits spread files over
256 directories). Writing goes to a temporary file in `<root>/tmp`, is fsynced, then
renamed into place, and the directory is fsynced: a reader sees the whole blob or none,
even across a crash. A blob already present is not written again, so identical outputs
take the space of one. Several server processes may share the root (one host, or a
shared volume): a rename onto an existing name is atomic, and both writers wrote the
same bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ledger_server.domain.errors import DataLoss


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "sha256"
        self._tmp = root / "tmp"

    def prepare(self) -> None:
        """Creates the directories; at start, so a read-only volume is found at once."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: bytes) -> Path:
        digest = sha256.hex()
        return self._blobs / digest[:2] / digest[2:]

    def exists(self, sha256: bytes) -> bool:
        return self.path(sha256).is_file()

    def put(self, sha256: bytes, data: bytes) -> None:
        if self.exists(sha256):
            return
        handle, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            self.adopt(sha256, Path(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def adopt(self, sha256: bytes, staged: Path) -> None:
        """Moves a complete, fsynced file under the name of its digest (or drops it when
        that blob exists already). `staged` must be on the store's file system."""
        target = self.path(sha256)
        if target.is_file():
            staged.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        _fsync_directory(target.parent)

    def open(self, sha256: bytes) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise DataLoss(
                f"the stored content {sha256.hex()} is missing from the blob store",
                reason="CONTENT_MISSING",
                metadata={"sha256": sha256.hex()},
            ) from None

    def usage(self) -> tuple[int, int]:
        """Free bytes on the store's file system, and its total size."""
        usage = shutil.disk_usage(self.root)
        return usage.free, usage.total


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
