"""The request-id repository every creating RPC shares (see domain/idempotency.py)."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ledger_server.domain.ports import ClaimedRequest
from ledger_server.storage.schema import request_ids


class SqlRequestIds:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        # ON CONFLICT waits for a concurrent claim of the same id to commit or roll back,
        # so two racing retries end with one record and one shared answer.
        claimed = self._db.execute(
            pg_insert(request_ids)
            .values(
                method=method,
                request_id=request_id,
                fingerprint=fingerprint,
                resource_id=resource_id,
            )
            .on_conflict_do_nothing()
            .returning(request_ids.c.request_id)
        ).first()
        if claimed is not None:
            return None
        earlier = self.find(method, request_id)
        assert earlier is not None, "the conflicting claim committed"
        return earlier

    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        earlier = self._db.execute(
            select(request_ids.c.fingerprint, request_ids.c.resource_id).where(
                request_ids.c.method == method, request_ids.c.request_id == request_id
            )
        ).first()
        if earlier is None:
            return None
        return ClaimedRequest(bytes(earlier.fingerprint), str(earlier.resource_id))
