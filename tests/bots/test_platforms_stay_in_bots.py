"""Chat platforms are reached through `bots` (the notifier, the engine), never from the rest of the product.

Only the root URLconf, which mounts the platforms' endpoints, imports `bots.platforms` from outside `bots/`.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Any directory by these names; `bots` only at the top.
SKIPPED = {"tests", "migrations", "node_modules", "__pycache__"}
ALLOWED = {"chatops_site/urls.py"}


def imported_modules(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def sources() -> list[Path]:
    found = []
    for folder, folders, files in os.walk(ROOT):
        at_top = Path(folder) == ROOT
        folders[:] = [
            name
            for name in folders
            if name not in SKIPPED and not name.startswith(".") and not (at_top and name == "bots")
        ]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return found


def test_nothing_outside_bots_but_the_urlconf_imports_the_platforms():
    offenders = []
    for path in sources():
        modules = imported_modules(ast.parse(path.read_text(), filename=str(path)))
        if any(m == "bots.platforms" or m.startswith("bots.platforms.") for m in modules):
            offenders.append(path.relative_to(ROOT).as_posix())

    assert sorted(set(offenders) - ALLOWED) == []


def test_the_walk_sees_the_product_and_the_urlconf():
    walked = {path.relative_to(ROOT).as_posix() for path in sources()}

    assert {"chatops_site/urls.py", "costs/digest.py", "integrations/github/events.py"} <= walked
    assert not any(name.startswith(("bots/", "tests/")) for name in walked)
