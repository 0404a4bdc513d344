"""`make install` installs the locked versions (constraints.txt) and notices a new lock."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[canonical(name)] = version
    return pins


def test_the_lock_pins_every_dependency() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {canonical(Requirement(spec).name) for spec in wanted} | {"grpcio-testing"}
    assert names - set(locked()) == set()


def test_this_environment_has_the_locked_versions() -> None:
    """What the tests run on is what the lock says (make install honoured it)."""
    differ = {}
    for name, version in locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # locked for an extra this environment does not install
        if installed != version:
            differ[name] = (installed, version)
    assert differ == {}, "installed != locked; run make install (or make lock)"


@pytest.mark.parametrize("changed", ["constraints.txt", "pyproject.toml"])
def test_make_install_reinstalls_when_the_lock_or_the_project_changes(changed: str) -> None:
    planned = subprocess.run(
        ["make", "--dry-run", f"--what-if={changed}", "install"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in planned
