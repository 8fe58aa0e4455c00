"""The dependency direction: retrieval <- bot <- testkit <- tests and benchmarks; nothing imports the tests."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def imports_of(folder: str, packages: tuple[str, ...]) -> list[str]:
    """Every import, in the Python files under folder, of one of packages or a module inside them."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            # The installed names are rectbot.bot and rectbot.retrieval: look at what follows "rectbot.".
            found += [
                f"{path.relative_to(ROOT)}: {name}" for name in names
                if name.removeprefix("rectbot.").split(".")[0] in packages
            ]
    return found


def test_retrieval_never_imports_bot() -> None:
    assert imports_of("retrieval", ("bot",)) == []


def test_the_packages_import_each_other_only_by_their_installed_names() -> None:
    # `import retrieval` would work from a source checkout and fail once installed (pyproject maps the folders
    # to rectbot.bot and rectbot.retrieval): every import says rectbot.
    for folder in ("bot", "retrieval", "tests", "testkit", "benchmarks"):
        bare = [line for line in imports_of(folder, ("bot", "retrieval")) if ": rectbot." not in line]
        assert bare == [], bare


def test_the_library_and_the_application_never_import_test_code() -> None:
    assert imports_of("retrieval", ("tests", "testkit")) + imports_of("bot", ("tests", "testkit")) == []


def test_benchmarks_and_the_testkit_never_import_the_tests() -> None:
    # What both need (fakes, generated files, hostile inputs) lives in testkit/.
    assert imports_of("benchmarks", ("tests",)) + imports_of("testkit", ("tests",)) == []


def test_init_files_hold_no_logic() -> None:
    for init in ROOT.glob("*/__init__.py"):
        assert init.read_text(encoding="utf-8").strip() == "", f"{init} should be empty"
