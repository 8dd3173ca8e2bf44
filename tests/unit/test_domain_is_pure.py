"""gateway/domain imports only the standard library (and rapidfuzz for matching)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "gateway" / "domain"
ALLOWED_THIRD_PARTY = {"rapidfuzz"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("gateway.domain"):
                continue
            names.add(node.module.split(".")[0])
    return names


def test_domain_modules_import_only_the_standard_library() -> None:
    offenders = {}
    for path in sorted(DOMAIN.glob("*.py")):
        foreign = {
            n
            for n in _imports(path)
            if n not in sys.stdlib_module_names and n not in ALLOWED_THIRD_PARTY
        }
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}
    assert len(list(DOMAIN.glob("*.py"))) > 2
