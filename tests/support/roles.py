"""Login roles for tests of how the server may log in (roles are cluster-wide: dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from tests.support.database import connect


@contextmanager
def login_role(url: str, *grants: str) -> Iterator[str]:
    """A new LOGIN role, a member of ledger_app, with `grants` run for it: its URL.

    Each grant is SQL with `{role}` for the role's name, e.g.
    "GRANT UPDATE ON ledger.jobs TO {role}".
    """
    role = f"ledger_login_{uuid.uuid4().hex[:10]}"
    admin = connect(url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role} LOGIN IN ROLE ledger_app")
            for grant in grants:
                cursor.execute(grant.format(role=role))
        yield make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")
        admin.close()
