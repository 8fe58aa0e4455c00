"""`rectbot serve`: the configured chat channels in one process and one event loop.

Importing this module is cheap, as `rectbot --help` does: each channel's libraries (python-telegram-bot,
Starlette and uvicorn, httpx) are imported only when that channel starts, the search library only when a core
is built, and asyncio (0.08 s: it loads ssl) only when serving, so `rectbot ask` never loads a channel.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime
from zoneinfo import ZoneInfo
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.access import Access, RateLimiter

if TYPE_CHECKING:
    import asyncio

    from bot.chatlog import ChatLog
    from bot.config import Config
    from bot.core import Core
    from bot.wecom import WeComChannel
    from retrieval.corpus import Corpus
    from retrieval.search import Searcher

logger = logging.getLogger(__name__)

CHANNELS = ("telegram", "wecom")
FOLLOW_SECONDS = 1.0  # how often a running bot checks for corpus changes made by other processes


class NoChannel(ValueError):
    """A channel was asked for (or none is configured) without the settings it needs."""


def configured_channels(config: Config) -> list[str]:
    """The channels whose credentials are set."""
    return [name for name in CHANNELS if missing_settings(config, name) == []]


def channels_to_run(config: Config, requested: list[str]) -> list[str]:
    """The channels asked for (default: every configured one); NoChannel names what is missing."""
    channels = requested or configured_channels(config)
    if not channels:
        raise NoChannel(
            "no channel is configured: set telegram.token (or RECTBOT_TELEGRAM_TOKEN), or wecom.corp_id, "
            "wecom.token and wecom.encoding_aes_key"
        )
    for name in channels:
        if missing := missing_settings(config, name):
            raise NoChannel(f"cannot start {name}: set {', '.join(missing)}")
    return channels


def missing_settings(config: Config, channel: str) -> list[str]:
    """The config keys a channel needs that are not set."""
    if channel == "telegram":
        return [] if config.telegram.token else ["telegram.token (or RECTBOT_TELEGRAM_TOKEN)"]
    if channel == "wecom":
        needed = {
            "wecom.corp_id": config.wecom.corp_id,
            "wecom.token (or RECTBOT_WECOM_TOKEN)": config.wecom.token,
            "wecom.encoding_aes_key (or RECTBOT_WECOM_ENCODING_AES_KEY)": config.wecom.encoding_aes_key,
        }
        return [name for name, value in needed.items() if not value]
    raise NoChannel(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")


def searcher_for(corpus: Corpus, config: Config) -> Searcher:
    """A searcher with the configured parameters."""
    from retrieval.search import SearchParams, Searcher

    params = SearchParams(
        confident_coverage=config.search.confident_coverage, related_coverage=config.search.related_coverage
    )
    return Searcher.over(corpus, params)


def build_core(corpus: Corpus, chatlog: ChatLog, config: Config) -> Core:
    """The platform-neutral core with the configured search and limits."""
    from bot.core import Core

    return Core(
        corpus,
        searcher_for(corpus, config),
        chatlog=chatlog,
        top_k=config.search.top_k,
        max_question_chars=config.search.max_question_chars,
        rate_limiter=RateLimiter(config.chat.rate_limit),
        script=config.display.script,
        now=lambda: datetime.now(ZoneInfo(config.chat.timezone)),
    )


def channel_runs(core: Core, config: Config, channels: list[str], stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
    """One coroutine per channel (checked by channels_to_run), each running until `stop` is set."""
    runs = []
    for name in channels:
        if name == "telegram":
            from bot.telegram import TelegramChannel, run_telegram

            settings = config.telegram
            access = Access.from_ids(settings.admins, settings.allowed_users, settings.allowed_chats)
            runs.append(run_telegram(TelegramChannel(core, access).build_application(settings), stop))
        if name == "wecom":
            from bot.wecom import run_wecom

            runs.append(run_wecom(wecom_channel(core, config), config.wecom.host, config.wecom.port, config.wecom.path, stop))
    return runs


def wecom_channel(core: Core, config: Config) -> WeComChannel:
    """The WeCom callback channel; it sends results of slow work only when the Secret and AgentId are set."""
    from bot.wecom import WeComChannel
    from bot.wecom_api import WeComApi
    from bot.wecom_crypto import CryptoError, WeComCrypto

    settings = config.wecom
    api = None
    if settings.secret and settings.agent_id:
        api = WeComApi(settings.api_base_url, settings.corp_id, settings.secret, settings.agent_id)
    else:
        logger.warning("wecom: secret or agent_id not set; results of slow work (重建索引) cannot be sent")
    try:
        crypto = WeComCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
    except CryptoError as error:
        raise NoChannel(f"cannot start wecom: wecom.encoding_aes_key: {error}") from None
    return WeComChannel(core, Access.from_ids(settings.admins, settings.allowed_users), crypto, api)


async def serve(core: Core, config: Config, channels: list[str], stop: asyncio.Event | None = None) -> None:
    """Run the channels until `stop` is set (default: SIGINT or SIGTERM); a channel that fails stops the others."""
    import asyncio

    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    runs = channel_runs(core, config, channels, stop)
    await warm_up(core)
    logger.info("serving %s", ", ".join(channels))
    tasks = [asyncio.create_task(run) for run in runs]
    # `rectbot ingest` or `remove` in another process, or another bot, must be searchable here without a restart.
    follower = asyncio.create_task(core.corpus.follow_changes(FOLLOW_SECONDS))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        stop.set()
        follower.cancel()
        await asyncio.gather(*tasks, follower, return_exceptions=True)


async def warm_up(core: Core) -> None:
    """Load everything a question needs before any channel listens, so the first question waits for nothing."""
    import asyncio

    started = time.perf_counter()
    await asyncio.to_thread(core.searcher.warm_up)
    logger.info("warmed up in %.2f s", time.perf_counter() - started)
