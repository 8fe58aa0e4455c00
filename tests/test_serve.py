"""`rectbot serve` as a process: channels from config or environment, clean stop, no secret in the logs."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.logs import RedactSecrets
from tests.fakes.bot_api import TOKEN, FakeBotApi

USER = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


async def test_serve_telegram_answers_stops_on_sigterm_and_never_logs_the_token(
    seeded_dir: Path, fake: FakeBotApi, tmp_path: Path
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")},
        "RECTBOT_TELEGRAM_TOKEN": TOKEN,
        "RECTBOT_TELEGRAM_BASE_URL": fake.base_url,
        "RECTBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "RECTBOT_STORAGE_DATABASE": str(seeded_dir / "rectbot.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--log-level", "DEBUG",
        cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.user_message("第一书记怎么发挥作用")
        reply = await fake.reply_to(USER, timeout=90)
        assert reply.visible_text.startswith("1. ")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "telegram: polling" in log and "Calling Bot API endpoint" in log  # DEBUG really was on
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


def test_serve_without_a_token_names_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    for name in list(os.environ):
        if name.startswith("RECTBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert "RECTBOT_TELEGRAM_TOKEN" in capsys.readouterr().err
    assert main(["serve", "telegram"]) == 2
    assert "telegram.token" in capsys.readouterr().err
    assert main(["serve", "fax"]) == 2
    assert "unknown channel 'fax'" in capsys.readouterr().err


def test_secrets_are_redacted_from_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(["s3cret-token", ""]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", "s3cret-token")
        try:
            raise ConnectionError("cannot reach https://x/bots3cret-token/getUpdates")
        except ConnectionError:
            logger.exception("polling failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "s3cret-token" not in text and "bot[secret]/getMe" in text and "ConnectionError: cannot reach" in text
