"""The package as a user installs it: a wheel with the seeds inside and no generic top-level names, answering
from an empty folder; a channel whose optional dependencies are missing says which extra to install."""

from __future__ import annotations

import dataclasses
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rectbot.bot.access import ChannelName
from rectbot.bot.config import Config
from rectbot.bot.serve import CHANNELS, NoChannel, channels_to_run
from tests.conftest import ROOT, SEEDS


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rectbot's wheel, built from this checkout (no network: the build uses the installed setuptools)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    [built] = out.glob("rectbot-*.whl")
    return built


def test_the_wheel_holds_the_seeds_and_data_under_one_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"rectbot"}
    assert {f"rectbot/seeds/{p.name}" for p in SEEDS.glob("*.txt")} <= set(names)
    assert "rectbot/retrieval/data/thesaurus.txt" in names and "rectbot/bot/cli.py" in names
    assert "rectbot/retrieval/data/topic_model.json" in names  # without it every answered question fails
    assert "rectbot/retrieval/data/confidence_model.json" in names  # nor could any answer be judged confident
    assert "rectbot/retrieval/data/shown_model.json" in names  # nor could any typed question be shown excerpts


def test_the_installed_wheel_answers_from_an_empty_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    # The dependencies come from this environment (no network); its own editable rectbot is not on that path,
    # since a folder named in a .pth file is searched but its .pth files are not run.
    [packages] = [Path(p) for p in subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True,
        check=True).stdout.split()]
    (packages / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    environment = {"PATH": "/usr/bin:/bin", "RECTBOT_HOME": str(tmp_path / "home")}

    def rectbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "rectbot"), *args], cwd=empty, env=environment,
                              capture_output=True, text=True, timeout=300)

    version = rectbot("--version")
    assert version.returncode == 0 and version.stdout.strip() == "rectbot 0.2.0"
    answer = rectbot("ask", "软弱涣散村党组织怎么整顿")
    assert answer.returncode == 0, answer.stderr
    assert "【1】" in answer.stdout and "首次运行：正在导入 5 份种子报告" in answer.stderr
    where = subprocess.run([str(python), "-c", "import rectbot.bot.cli as m; print(m.__file__)"], cwd=empty,
                           env=environment, capture_output=True, text=True).stdout
    assert str(venv) in where  # the installed copy answered, not this checkout
    assert list(empty.iterdir()) == []  # nothing written where the shell stands


def test_a_channel_without_its_extra_says_which_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = CHANNELS[ChannelName.TELEGRAM]
    monkeypatch.setitem(CHANNELS, ChannelName.TELEGRAM, dataclasses.replace(kind, requires=("no_such_module_here",)))
    config = dataclasses.replace(Config(), telegram=dataclasses.replace(Config().telegram, token="1:x"))
    with pytest.raises(NoChannel, match=r"pip install 'rectbot\[telegram\]'"):
        channels_to_run(config, ["telegram"])
