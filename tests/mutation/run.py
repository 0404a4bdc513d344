"""`make mutate`: mutation testing of the domain rules and the error mapper.

mutmut changes one thing at a time in `server/ledger_server/domain/` and
`server/ledger_server/rpc/errors.py` (a `<` for a `<=`, a string, a constant, a removed
call, ...) and runs the fast tests (tests/unit) that reach the changed function. A test
that fails kills the mutant; a mutant no test notices survives. The score is the share
of mutants killed; every survivor must be killed by a new test or listed, with why it
cannot change what a caller sees, in tests/MUTATION.md.

mutmut only knows packages at the top of a project or under `src/`, and Ledger's server
package lives under `server/`, so the run happens in a staging copy under
`.ledger/mutation/` (git-ignored): `src/ledger_server` (the server package), `tests/` and
`pyproject.toml` (whose `[tool.mutmut]` section configures the run). Nothing in the work
tree changes.

    make mutate                           # all of it, about 26 minutes on 2 cores
    .venv/bin/python tests/mutation/run.py --max-children 1
    .venv/bin/python tests/mutation/run.py --only 'src/ledger_server/domain/ingestion/*'

`--only PATTERN` (repeatable) replaces `only_mutate` in the staged pyproject.toml for one
run, to mutate one domain while it changes; the score then covers that domain alone.

Exit status: 1 when the score is below the target or a survivor is not explained.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE = REPO_ROOT / ".ledger" / "mutation"
EXPLAINED = REPO_ROOT / "tests" / "MUTATION.md"
TARGET = 0.90
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is caught too
# One line, as pyproject.toml spells it: `only_mutate = ["...", "..."]`.
_ONLY_MUTATE = re.compile(r"^only_mutate\s*=\s*\[[^\]\n]*\]", re.MULTILINE)
_MUTANT = re.compile(r"`(ledger_server\.[\w.ǁ]+__mutmut_\d+)`")


def stage(only: Sequence[str] = ()) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(
        REPO_ROOT / "server" / "ledger_server", STAGE / "src" / "ledger_server", ignore=ignore
    )
    shutil.copytree(REPO_ROOT / "tests", STAGE / "tests", ignore=ignore)
    shutil.copy2(REPO_ROOT / "pyproject.toml", STAGE / "pyproject.toml")
    if only:
        narrow(STAGE / "pyproject.toml", only)


def narrow(pyproject: Path, only: Sequence[str]) -> None:
    """Replace `[tool.mutmut]`'s `only_mutate` with `only` (in the staged copy only)."""
    text = pyproject.read_text()
    patterns = ", ".join(json.dumps(pattern) for pattern in only)
    narrowed, found = _ONLY_MUTATE.subn(f"only_mutate = [{patterns}]", text)
    if found != 1:
        raise SystemExit(f"expected one `only_mutate = [...]` line in {pyproject}, found {found}")
    if tomllib.loads(narrowed)["tool"]["mutmut"]["only_mutate"] != list(only):
        raise SystemExit(f"could not narrow `only_mutate` in {pyproject}")
    pyproject.write_text(narrowed)


def mutmut(*args: str, capture: bool = False) -> str:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=STAGE,
        env=env,
        capture_output=capture,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout if capture else ""


def results() -> dict[str, str]:
    """Every mutant's name and status, from `mutmut results --all true`."""
    statuses = {}
    for line in mutmut("results", "--all", "true", capture=True).splitlines():
        name, _, status = line.strip().rpartition(": ")
        if "__mutmut_" in name:
            statuses[name] = status
    return statuses


def explained() -> set[str]:
    return set(_MUTANT.findall(EXPLAINED.read_text())) if EXPLAINED.exists() else set()


def module_of(name: str) -> str:
    """`ledger_server.domain.money.x_plain_amount__mutmut_3` -> `ledger_server.domain.money`."""
    parts = name.split(".")
    return ".".join(p for p in parts if not p.startswith(("x_", "xǁ")))


def diff_of(name: str) -> list[str]:
    shown = mutmut("show", name, capture=True)
    return [
        line
        for line in shown.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def report(statuses: dict[str, str], known: set[str]) -> int:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status] += 1
    total = len(statuses)
    killed = sum(1 for status in statuses.values() if status in KILLED)
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED)
    equivalent = [name for name in survivors if name in known]
    unexplained = [name for name in survivors if name not in known]
    # A narrowed run (`--only`) says nothing of the modules it did not mutate.
    stale = sorted(name for name in known - set(survivors) if module_of(name) in by_module)

    print("\nMutants by module (killed / all):")
    for module in sorted(by_module):
        counts = by_module[module]
        module_killed = sum(counts[s] for s in KILLED)
        print(f"  {module:<58} {module_killed:>4} / {sum(counts.values()):<4}  {dict(counts)}")
    score = killed / total if total else 0.0
    scored = killed / (total - len(equivalent)) if total > len(equivalent) else 0.0
    print(f"\nMutation score: {killed} of {total} mutants killed = {score:.1%}")
    print(
        f"  leaving out the {len(equivalent)} explained as equivalent in "
        f"{EXPLAINED.relative_to(REPO_ROOT)}: {scored:.1%} (target {TARGET:.0%})"
    )
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutants no test kills and no note explains:")
        for name in unexplained:
            print(f"  {name}  [{statuses[name]}]")
            for line in diff_of(name):
                print(f"      {line.strip()}")
    if stale:
        print(f"\n{len(stale)} mutants listed as surviving no longer survive (or were renamed):")
        for name in stale:
            print(f"  {name}")
    failed = score < TARGET or bool(unexplained)
    print("\nFAILED" if failed else "\nPASSED", "(score target and every survivor explained)")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--max-children", type=int, default=os.cpu_count() or 1, help="parallel test runs"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="report the last run in the staging copy"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="mutate only files matching PATTERN (replaces only_mutate; repeatable), "
        "e.g. 'src/ledger_server/domain/ingestion/*'",
    )
    args = parser.parse_args(argv)
    if not args.report_only:
        print(f"staging the server package, tests and config in {STAGE}", flush=True)
        stage(args.only)
        mutmut("run", "--max-children", str(args.max_children))
    return report(results(), explained())


if __name__ == "__main__":
    sys.exit(main())
