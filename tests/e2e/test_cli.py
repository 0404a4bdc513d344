"""The `ledger` command line against a real server: import Infracost output, inspect it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from ledger_server.storage.migrate import alembic_config
from tests.conftest import WRITER_KEY
from tests.support.database import connect, fresh_database
from tests.support.server import ServerThread


def infracost_doc(web_cost: str, with_bucket: bool) -> dict[str, Any]:
    """The shape `infracost breakdown --format json` writes (schema 0.2)."""
    web: dict[str, Any] = {
        "name": "aws_instance.web",
        "resourceType": "aws_instance",
        "metadata": {},
        "hourlyCost": None,
        "monthlyCost": web_cost,
        "costComponents": [
            {
                "name": "Instance usage (Linux/UNIX, on-demand, m5.xlarge)",
                "unit": "hours",
                "hourlyQuantity": "1",
                "monthlyQuantity": "730",
                "price": "0.192",
                "hourlyCost": None,
                "monthlyCost": web_cost,
            }
        ],
        "subresources": [],
    }
    bucket: dict[str, Any] = {
        "name": "aws_s3_bucket.logs",
        "resourceType": "aws_s3_bucket",
        "metadata": {},
        "hourlyCost": None,
        "monthlyCost": None,
        "costComponents": [
            {
                "name": "Standard storage",
                "unit": "GB",
                "hourlyQuantity": None,
                "monthlyQuantity": None,
                "price": "0.023",
                "hourlyCost": None,
                "monthlyCost": None,
            }
        ],
        "subresources": [],
    }
    resources = [web, bucket] if with_bucket else [web]
    return {
        "version": "0.2",
        "currency": "USD",
        "projects": [{"name": "infra", "metadata": {}, "breakdown": {"resources": resources}}],
        "totalMonthlyCost": web_cost,
    }


def ledger(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", "results", *args, "--target", server.target],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LEDGER_API_KEY": WRITER_KEY},
    )


def words(output: str) -> list[str]:
    """The lines of `output` with runs of spaces (column padding) made single."""
    return [" ".join(line.split()) for line in output.splitlines()]


def job_id_of(output: str) -> str:
    job_id: str = json.loads(output)["job_id"]
    return job_id


def test_results_import_list_show_compare(server: ServerThread, tmp_path: Path, user: str) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(infracost_doc("140.16", with_bucket=True)))
    after.write_text(json.dumps(infracost_doc("280.32", with_bucket=False)))

    first = ledger(server, "import-infracost", str(before), "--user", user)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["total_monthly_cost"] == "140.16 USD"
    second = ledger(server, "import-infracost", str(after), "--user", user)
    assert second.returncode == 0, second.stderr
    base, target = job_id_of(first.stdout), job_id_of(second.stdout)

    listed = ledger(server, "list", "--user", user)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.index(target) < listed.stdout.index(base)  # newest first

    shown = ledger(server, "show", base)
    assert shown.returncode == 0, shown.stderr
    assert "aws_instance.web" in shown.stdout and "AmazonEC2" in shown.stdout

    compared = ledger(server, "compare", base, target)
    assert compared.returncode == 0, compared.stderr
    assert words(compared.stdout) == [
        f"Base {base} 140.16 USD",
        f"Target {target} 280.32 USD",
        "Delta +140.16 USD (+100.00%)",
        "",
        "Resources",
        "~ aws_instance.web +140.16 USD (140.16 USD -> 280.32 USD)",
        "- aws_s3_bucket.logs +0.00 USD (0.00 USD -> 0.00 USD)",
        "",
        "Services",
        "AmazonEC2 +140.16 USD (140.16 USD -> 280.32 USD)",
        "AmazonS3 +0.00 USD (0.00 USD -> 0.00 USD)",
        "",
        "Regions",
        "unknown +140.16 USD (140.16 USD -> 280.32 USD)",
    ]


def test_results_errors_are_clear(server: ServerThread, tmp_path: Path) -> None:
    nothing = ledger(server, "list", "--user", "nobody-at-all")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    assert "No jobs match." in nothing.stderr

    missing = ledger(server, "show", "00000000-0000-0000-0000-000000000000")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        "error: job '00000000-0000-0000-0000-000000000000' not found (JOB_NOT_FOUND)\n"
    )

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"version": "0.2", "totalMonthlyCost": "5", "projects": []}))
    imported = ledger(server, "import-infracost", str(broken))
    assert (imported.returncode, imported.stdout) == (1, "")
    assert imported.stderr == (
        "error: $.totalMonthlyCost is 5 USD but the resources under "
        "$.projects[*].breakdown.resources add up to 0 USD; the file does not list every "
        "priced resource (is it a diff or a truncated file?), so importing it would store a "
        "wrong total\n"
    )

    not_json = tmp_path / "plan.txt"
    not_json.write_text("Plan: 3 to add")
    refused = ledger(server, "import-infracost", str(not_json))
    assert refused.returncode == 1
    assert f"error: {not_json} is not JSON" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_migrate_brings_an_empty_database_to_head() -> None:
    with fresh_database(migrated=False) as url:
        migrated = subprocess.run(
            [sys.executable, "-m", "ledger_server", "migrate", "--database-url", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert "database migrated to head" in migrated.stdout
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            assert cursor.fetchone() == (head,)
