"""The dependency direction: the retrieval library never imports the bot application."""

from __future__ import annotations

import ast
from pathlib import Path

RETRIEVAL = Path(__file__).resolve().parent.parent / "retrieval"


def test_retrieval_never_imports_bot() -> None:
    offenders = []
    for path in RETRIEVAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name == "bot" or name.startswith("bot.")]
    assert offenders == []


def test_init_files_hold_no_logic() -> None:
    for init in RETRIEVAL.parent.glob("*/__init__.py"):
        assert init.read_text(encoding="utf-8").strip() == "", f"{init} should be empty"
