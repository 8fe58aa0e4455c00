"""The `rectbot` command as operators use it: data directory, version, global options, exit codes, info,
backup, export of the question log, log formats, and the terminal chat's line editing."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rectbot.bot.cli import main
from tests.conftest import ROOT


@pytest.fixture
def home(seeded_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """$RECTBOT_HOME holding a seeded database, no config file, the shell elsewhere."""
    for name in [n for n in os.environ if n.startswith("RECTBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RECTBOT_HOME", str(seeded_dir))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return seeded_dir


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_data_directory_is_rectbot_home_wherever_the_shell_stands(
    home: Path, capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status, out, err = run(capsys, "ask", "村官回归工程")
    assert status == 0 and "【1】" in out and err == ""  # not a first run: the database is there
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "docs")[1].count("\n") >= 5
    assert not (tmp_path / "rectbot-data").exists() and not (tmp_path / "elsewhere" / "rectbot-data").exists()


def test_a_first_run_says_where_it_imports_the_seeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("RECTBOT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "ask", "村官回归工程")
    assert status == 0 and "【1】" in out
    assert f"首次运行：正在导入 5 份种子报告到 {tmp_path / 'home'}" in err
    assert (tmp_path / "home" / "rectbot.sqlite3").is_file()


def test_without_seeds_an_empty_database_is_never_silent(home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RECTBOT_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("RECTBOT_CORPUS_SEEDS", str(tmp_path / "no-seeds-here"))
    status, out, err = run(capsys, "ask", "村官回归工程")
    assert status == 1 and out == ""
    assert "no seed reports" in err and "holds no documents" in err and "rectbot ingest" in err
    status, out, err = run(capsys, "docs")
    assert status == 0 and out == "" and "holds no documents" in err


def test_version_is_the_installed_one(capsys) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"rectbot {version('rectbot')}\n"


def test_global_options_go_before_or_after_the_command(home: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "top1.toml"
    config.write_text("[search]\ntop_k = 1\n", encoding="utf-8")
    before = run(capsys, "--config", str(config), "ask", "第一书记")
    after = run(capsys, "ask", "第一书记", "--config", str(config))
    assert before[0] == after[0] == 0 and before[1] == after[1]
    assert "【1】" in before[1] and "【2】" not in before[1]
    with pytest.raises(SystemExit) as exit_:
        main(["--log-level", "bogus", "docs"])
    assert exit_.value.code == 2


def test_runtime_failures_exit_1_and_usage_errors_exit_2(home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    assert run(capsys, "ask", "第一书记", "--top", "0")[0] == 2
    assert run(capsys, "ingest", str(tmp_path / "missing.txt"))[0] == 2
    blocked = tmp_path / "a-folder-not-a-database"
    blocked.mkdir()
    monkeypatch.setenv("RECTBOT_STORAGE_DATABASE", str(blocked))
    status, _, err = run(capsys, "docs")
    assert status == 1 and "cannot open database" in err


def test_info_shows_where_things_are_and_masks_secrets(home: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RECTBOT_TELEGRAM_TOKEN", "123456:AAE-very-secret-token-value")
    status, out, _ = run(capsys, "info")
    assert status == 0
    assert f"data directory  {home} (from $RECTBOT_HOME)" in out
    assert "5 files" in out and "searchable passages" in out and "rjieba" in out
    assert "telegram.token = (set)" in out and "wecom.secret = (not set)" in out
    assert "very-secret" not in out


def test_backup_copies_the_live_database_and_never_overwrites(home: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "rectbot-backup.sqlite3"
    status, out, _ = run(capsys, "backup", str(target))
    assert status == 0 and str(target) in out and "5 documents" in out
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 5
    status, _, err = run(capsys, "backup", str(target))
    assert status == 1 and "exists" in err


def test_export_questions_as_csv_and_json_lines(home: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("村官回归工程\n怎么炒股\n"))
    assert run(capsys, "chat")[0] == 0
    status, out, _ = run(capsys, "export", "questions", "--csv")
    assert status == 0 and out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert [(r["question"], r["channel"], r["answered"]) for r in rows] == [
        ("村官回归工程", "cli", "True"), ("怎么炒股", "cli", "False")]
    lines = [json.loads(line) for line in run(capsys, "export", "questions")[1].splitlines()]
    assert [line["question"] for line in lines] == ["村官回归工程", "怎么炒股"] and "user_id" not in lines[0]
    status, out, err = run(capsys, "export", "questions", "--since", "2999-01-01")
    assert status == 0 and out == "" and "no questions" in err


def _stderr_lines(args: list[str], env: dict[str, str]) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "rectbot.bot.cli", *args], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()


def _child_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "RECTBOT_HOME": str(home),
            **extra}


def test_json_logs_are_one_object_per_line(home: Path) -> None:
    lines = _stderr_lines(["--log-level", "INFO", "ask", "第一书记"], _child_env(home, RECTBOT_LOGGING_FORMAT="json"))
    entries = [json.loads(line) for line in lines]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("rectbot.retrieval") for e in entries)


def test_debug_logs_leave_out_sql_unless_asked(home: Path) -> None:
    quiet = _stderr_lines(["--log-level", "DEBUG", "docs"], _child_env(home))
    assert quiet and not any("aiosqlite" in line for line in quiet)
    loud = _stderr_lines(["--log-level", "DEBUG", "docs"], _child_env(home, RECTBOT_LOGGING_SQL="true"))
    assert any("aiosqlite" in line for line in loud)


def _read_until(fd: int, wanted: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"timed out waiting for {wanted!r}; got {seen[-400:]!r}")
        seen += os.read(fd, 65536)
    return seen


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, so Ctrl-C there sends SIGINT."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX system")
def test_the_terminal_chat_edits_lines_clears_them_on_ctrl_c_and_quits_on_ctrl_d(home: Path) -> None:
    main_fd, child_fd = pty.openpty()
    chat = subprocess.Popen([sys.executable, "-m", "rectbot.bot.cli", "chat"], stdin=child_fd, stdout=child_fd,
                            stderr=child_fd, env={**_child_env(home), "TERM": "xterm"}, close_fds=True,
                            preexec_fn=_own_terminal)
    os.close(child_fd)
    try:
        _read_until(main_fd, b"> ")
        # Typed 村官回归程, then Left and 工 before the last character: line editing makes it 村官回归工程.
        os.write(main_fd, "村官回归程".encode() + b"\x1b[D" + "工".encode() + b"\r")
        answer = _read_until(main_fd, b"\r\n> ").decode(errors="replace")
        assert "【1】" in answer and "^[[D" not in answer
        # Ctrl-C in the middle of a line clears it at once: no answer, a new prompt.
        os.write(main_fd, "半截问题".encode())
        _read_until(main_fd, "半截问题".encode())  # echoed by readline: it is reading the line
        os.write(main_fd, b"\x03")
        cleared = _read_until(main_fd, b"> ").decode(errors="replace")
        assert "^C" in cleared and "【" not in cleared
        os.write(main_fd, "更多！".encode() + b"\r")
        more = _read_until(main_fd, b"\r\n> ").decode(errors="replace")
        assert "【4】" in more  # the next excerpts of the last question, not a new question
        os.write(main_fd, b"\x04")  # Ctrl-D
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        os.close(main_fd)
    assert (home / "chat-history").is_file()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('["软弱涣散怎么整顿"]', "question 1 is a JSON str, not an object"),
        ('{"q": "x"}', "found a JSON dict"),
        ('[{"id": "a1"}]', 'question 1 has no "q"'),
        ('[{"id": "a1", "q": "第一书记", "any": "选派"}]', '"any" must be a list of strings'),
        ('[{"id": "a1", "q": "第一书记", "kind": "weird"}]', '"kind" must be one of lexical'),
        ("not json", "not JSON"),
    ],
)
def test_a_malformed_question_file_says_what_is_wrong_and_the_format(
    home: Path, tmp_path: Path, capsys, content: str, said: str
) -> None:
    questions = tmp_path / "questions.json"
    questions.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "eval", str(questions))
    assert status == 2 and out == "" and said in err and "Traceback" not in err
    assert "string indices" not in err
