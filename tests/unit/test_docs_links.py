"""The documentation is self-contained: every local link of README and docs/ resolves inside the
repository, and nothing points outside it (a clone has no ../shared)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_docs_readme_links_to_exist() -> None:
    assert {path.name for path in DOCUMENTS} >= {"README.md", "architecture.md", "api.md"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_local_link_resolves_inside_the_repository(document: Path) -> None:
    for target in _LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{document.name}: {target} leaves the repository"
        assert path.exists(), f"{document.name}: {target} does not exist"


def test_nothing_refers_to_design_files_outside_the_repository() -> None:
    sources = [*DOCUMENTS, *sorted((ROOT / "amss").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]
    outside = re.compile(r"\.\./(shared|seed)/|(?<![\w/])(ARCHITECTURE|API)\.md")
    offenders = [
        str(path.relative_to(ROOT)) for path in sources if path != Path(__file__) and outside.search(path.read_text())
    ]
    assert offenders == []
