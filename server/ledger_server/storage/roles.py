"""Which database role may serve: one that can only read and append Ledger's tables.

Every pooled connection checks its effective role (`current_user`, after any SET ROLE)
before it is used: a superuser, a member of the owner of Ledger's tables or schema, or a
role holding UPDATE, DELETE or TRUNCATE on any of them is refused, so a misconfigured
server fails at start instead of serving with the power to rewrite history.

The login role (`session_user`) matters too: `SET ROLE ledger_app` from the owner's
login restricts the session, but any statement may `RESET ROLE` and be the owner again.
That cannot be refused here without breaking the documented owner-plus-SET-ROLE setup,
so it is logged once per engine; the fix is a login role that is itself only a member
of ledger_app (README, "Database roles").
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("ledger.storage")

SCHEMA = "ledger"


class UnsafeRole(ValueError):
    """The role a connection serves as could rewrite or drop Ledger's records."""


_POWERS = """
SELECT r.rolsuper,
       coalesce(bool_or(pg_has_role(r.oid, n.nspowner, 'MEMBER')
                        OR pg_has_role(r.oid, c.relowner, 'MEMBER')), false),
       coalesce(array_agg(c.relname ORDER BY c.relname) FILTER (
           WHERE has_table_privilege(r.oid, c.oid, 'UPDATE')
              OR has_table_privilege(r.oid, c.oid, 'DELETE')
              OR has_table_privilege(r.oid, c.oid, 'TRUNCATE')), '{}')
FROM pg_roles r
LEFT JOIN pg_namespace n ON n.nspname = %(schema)s
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
WHERE r.rolname = %(role)s
GROUP BY r.rolsuper
"""


def _powers(cursor: Any, role: str) -> list[str]:
    """What `role` may do to Ledger's records beyond reading and appending them."""
    cursor.execute(_POWERS, {"schema": SCHEMA, "role": role})
    superuser, owner, rewritable = cursor.fetchone()
    powers = []
    if superuser:
        powers.append("is a superuser")
    if owner:
        powers.append(f"owns (or may become the owner of) the {SCHEMA} schema or its tables")
    if rewritable:
        powers.append(f"may UPDATE, DELETE or TRUNCATE {SCHEMA}.{', '.join(rewritable)}")
    return powers


def _roles(cursor: Any) -> tuple[str, str]:
    """The session's effective role and its login role."""
    cursor.execute("SELECT current_user, session_user")
    current, login = cursor.fetchone()
    return str(current), str(login)


def check_serving_role(cursor: Any) -> None:
    """Raises UnsafeRole unless the session's effective role can only read and append."""
    current, _ = _roles(cursor)
    powers = _powers(cursor, current)
    if powers:
        raise UnsafeRole(
            f"refusing to serve as database role {current}: it {'; it '.join(powers)}. "
            "Serve as a role holding only SELECT and INSERT: LEDGER_DB_ROLE=ledger_app (the "
            "default), or a login role that is a member of ledger_app with LEDGER_DB_ROLE=none"
        )


def login_may_escape(cursor: Any) -> str | None:
    """The login role's name if a RESET ROLE would give the session more than it has now."""
    current, login = _roles(cursor)
    if login == current:
        return None
    return login if _powers(cursor, login) else None
