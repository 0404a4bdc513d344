"""A new migration, as `alembic revision` writes it, reminds its author of Ledger's rules."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from ledger_server.storage.migrate import migrations_dir


def test_a_new_migration_reminds_to_make_tables_insert_only(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    config = Config()
    config.set_main_option("script_location", str(scripts))

    head = ScriptDirectory.from_config(config).get_current_head()
    command.revision(config, message="add evaluation runs", rev_id="0099")

    (written,) = (scripts / "versions").glob("0099_*.py")
    source = written.read_text()
    upgrade = source[source.index("def upgrade()") : source.index("def downgrade()")]
    assert "op.execute(\"SELECT ledger.make_insert_only('ledger.<table>')\")" in upgrade
    assert "sa.Identity()" in upgrade and "Never a sequence" in upgrade
    assert f"down_revision = '{head}'" in source  # it follows the current head

    spec = importlib.util.spec_from_file_location("new_migration", written)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the reminders are comments: the file still runs
    assert callable(module.upgrade) and callable(module.downgrade)
