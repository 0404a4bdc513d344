"""Uploads in progress: one staging file per upload id, beside the blob store.

An upload streams into `<root>/uploads/<digest of its id>.part`; a small JSON file next
to it names the evaluation and channel it belongs to, so a resumed upload cannot switch
them. A stream holds an exclusive `flock` on the part file while it writes, so two
streams of one upload (in any process on the host) never interleave: the second is
refused. What a stream wrote is fsynced when it ends, and the committed size is the
part file's size. A finished upload's part file is moved into the blob store (or read
into the database) and removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ledger_server.domain.errors import FailedPrecondition

HASH_CHUNK_BYTES = 1024 * 1024
# A client resuming right after its connection broke may arrive before the server has
# noticed the old stream is gone: the new stream waits this long for the old one's lock.
LOCK_WAIT_SECONDS = 5.0
LOCK_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class UploadOwner:
    evaluation_id: str
    channel: str


class StagedUpload:
    """One upload, open for appending by this stream alone."""

    def __init__(self, part: Path, file: BinaryIO) -> None:
        self.part = part
        self._file = file
        self.size = os.fstat(file.fileno()).st_size
        # Hashed as it arrives when this stream wrote it from the start; otherwise the
        # finished file is hashed once more (a hash's state does not outlive a stream).
        self._digest: hashlib._Hash | None = hashlib.sha256() if self.size == 0 else None

    def append(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)
        if self._digest is not None:
            self._digest.update(data)

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def sha256(self) -> bytes:
        """The digest of everything staged (synced first)."""
        self.sync()
        if self._digest is not None:
            return self._digest.digest()
        digest = hashlib.sha256()
        with self.part.open("rb") as source:
            while chunk := source.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
        return digest.digest()

    def head(self, size: int) -> bytes:
        with self.part.open("rb") as source:
            return source.read(size)

    def close(self) -> None:
        self._file.close()  # releases the flock


class UploadArea:
    def __init__(self, root: Path, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self._dir = root / "uploads"
        self.lock_wait = lock_wait

    def prepare(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        name = hashlib.sha256(upload_id.encode()).hexdigest()
        return self._dir / f"{name}.part", self._dir / f"{name}.json"

    def owner(self, upload_id: str) -> tuple[UploadOwner, int] | None:
        """Whose upload this is and its committed size; None when never written."""
        part, sidecar = self._paths(upload_id)
        try:
            owner = UploadOwner(**json.loads(sidecar.read_text()))
            return owner, part.stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open(self, upload_id: str, owner: UploadOwner) -> Iterator[StagedUpload]:
        """The upload, locked for this stream; created when new."""
        part, sidecar = self._paths(upload_id)
        file = part.open("ab")
        try:
            if not _lock(file, self.lock_wait):
                raise FailedPrecondition(
                    "another stream is writing this upload now; wait for it or query its status",
                    reason="UPLOAD_IN_PROGRESS",
                    metadata={"upload_id": upload_id},
                )
            if sidecar.exists():
                recorded = UploadOwner(**json.loads(sidecar.read_text()))
                if recorded != owner:
                    raise FailedPrecondition(
                        "this upload id belongs to another evaluation or channel",
                        reason="UPLOAD_ID_REUSED",
                        metadata={"upload_id": upload_id},
                    )
            else:
                sidecar.write_text(json.dumps(owner.__dict__))
            staged = StagedUpload(part, file)
            yield staged
            staged.sync()
        finally:
            file.close()

    def discard(self, upload_id: str) -> None:
        for path in self._paths(upload_id):
            path.unlink(missing_ok=True)


def _lock(file: BinaryIO, wait: float) -> bool:
    """Takes the exclusive flock of `file`, waiting up to `wait` seconds for it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(LOCK_POLL_SECONDS)
