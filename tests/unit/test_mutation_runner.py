"""`tests/mutation/run.py --only`: a run narrowed to one domain mutates that domain alone."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.mutation import run

INGESTION = "src/ledger_server/domain/ingestion/*"


def test_only_replaces_only_mutate_and_keeps_the_rest(tmp_path: Path) -> None:
    staged = tmp_path / "pyproject.toml"
    staged.write_text((run.REPO_ROOT / "pyproject.toml").read_text())
    before = tomllib.loads(staged.read_text())

    run.narrow(staged, [INGESTION, "src/ledger_server/rpc/errors.py"])

    after = tomllib.loads(staged.read_text())
    assert after["tool"]["mutmut"]["only_mutate"] == [INGESTION, "src/ledger_server/rpc/errors.py"]
    del before["tool"]["mutmut"]["only_mutate"], after["tool"]["mutmut"]["only_mutate"]
    assert after == before


def test_only_refuses_a_config_it_cannot_narrow(tmp_path: Path) -> None:
    staged = tmp_path / "pyproject.toml"
    staged.write_text('[tool.mutmut]\nsource_paths = ["src/ledger_server"]\n')

    with pytest.raises(SystemExit, match="only_mutate"):
        run.narrow(staged, [INGESTION])
    assert "only_mutate" not in staged.read_text()


def test_a_narrowed_run_lists_no_note_of_other_modules_as_stale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ingestion = "ledger_server.domain.ingestion.normalise.x_canonical__mutmut_"
    statuses = {f"{ingestion}{n}": "killed" for n in range(1, 20)} | {f"{ingestion}20": "survived"}
    known = {f"{ingestion}20", f"{ingestion}3", "ledger_server.domain.paging.x__scope__mutmut_5"}

    assert run.report(statuses, known) == 0

    printed = capsys.readouterr().out
    assert "1 mutants listed as surviving no longer survive" in printed
    assert f"{ingestion}3\n" in printed
    assert "paging" not in printed
