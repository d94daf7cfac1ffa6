"""The layer contracts of pyproject.toml ([tool.importlinter], run by `lint-imports` in `make lint`).

One test shows a contract failing: it copies the package into a temporary directory, adds one
forbidden import (the domain importing the infrastructure) and runs `lint-imports` on the copy.
The others keep the contracts' module lists complete, so a new top-level package cannot slip
past the "imports nothing else of the project" rules.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import amss

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def _top_level_modules() -> set[str]:
    return {f"amss.{module.name}" for module in pkgutil.iter_modules(amss.__path__)}


def _lint_imports(workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(workdir / "pyproject.toml")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_domain_and_app_rules_name_every_other_top_level_module() -> None:
    contracts = _contracts()
    modules = _top_level_modules()
    assert set(contracts["domain-pure"]["forbidden_modules"]) == modules - {"amss.domain"}
    assert set(contracts["app-inward"]["forbidden_modules"]) == modules - {"amss.app", "amss.domain"}


def test_bench_rule_names_every_product_module() -> None:
    # only the command line (`amss bench`) and the dev runner may reach the harness
    tools = {"amss.bench", "amss.cli", "amss.devrun"}
    assert set(_contracts()["bench-outside-product"]["source_modules"]) == _top_level_modules() - tools


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "amss", tmp_path / "amss", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = _lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    enums = tmp_path / "amss" / "domain" / "enums.py"
    enums.write_text(enums.read_text() + "\nimport amss.infra.postgres.uow  # noqa: E402\n")
    broken = _lint_imports(tmp_path)

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "amss.domain imports nothing of the project outside itself BROKEN" in broken.stdout
    assert "amss.domain.enums -> amss.infra.postgres.uow" in broken.stdout


_FRONTS_VIA_PORTS = (
    "amss.api, amss.actors and amss.jobs reach amss.infra only through amss.bootstrap or amss.app's ports"
)
_BENCH_OUTSIDE = "the product never imports the benchmark harness amss.bench"


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        # the mesh reaches its storage only through the CommandLog port (app/commands/log.py)
        ("actors/executor.py", "amss.infra.postgres.commands_repo", _FRONTS_VIA_PORTS),
        # the jobs read through the MaintenanceCandidates port (app/jobs.py)
        ("jobs/maintenance_jobs.py", "amss.infra.postgres.programs_repo", _FRONTS_VIA_PORTS),
        # the root loads the diagnostic commands by name, never by an import
        ("bootstrap/commands.py", "amss.bench.diagnostics", _BENCH_OUTSIDE),
    ],
)
def test_a_front_reaching_infra_or_the_product_reaching_the_bench_breaks_its_contract(
    tmp_path: Path, module: str, forbidden: str, contract: str
) -> None:
    shutil.copytree(ROOT / "amss", tmp_path / "amss", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    source = tmp_path / "amss" / module
    source.write_text(source.read_text() + f"\nimport {forbidden}  # noqa: E402\n")
    broken = _lint_imports(tmp_path)

    report = " ".join(broken.stdout.split())  # lint-imports wraps long lines
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"{contract} BROKEN" in report, broken.stdout
    assert f"amss.{module.removesuffix('.py').replace('/', '.')} -> {forbidden}" in report, broken.stdout
