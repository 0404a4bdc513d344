"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    # Ledger's tables are INSERT-only. For every table this migration creates, after its
    # op.create_table(...), call
    #     op.execute("SELECT ledger.make_insert_only('ledger.<table>')")
    # It adds the triggers that reject UPDATE, DELETE and TRUNCATE and grants the server's
    # role (ledger_app) SELECT and INSERT only; tests/integration/test_insert_only.py
    # checks every table.
    # Generated keys: an IDENTITY column, sa.Column("id", sa.BigInteger(), sa.Identity(),
    # primary_key=True), or a UUID the application makes. Never a sequence (sa.Sequence,
    # serial, bigserial): ledger_app holds no rights on sequences, so its INSERTs would
    # be refused; an IDENTITY column needs none.
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
