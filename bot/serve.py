"""`rectbot serve`: the configured chat channels and one HTTP host in one process and one event loop.

Importing this module is cheap, as `rectbot --help` does: each channel's libraries (python-telegram-bot,
Starlette and uvicorn, httpx) are imported only when that channel starts, the search library only when a core
is built, and asyncio (0.08 s: it loads ssl) only when serving, so `rectbot ask` never loads a channel.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar
from zoneinfo import ZoneInfo

from rectbot.bot.access import Access, ChannelName, RateLimiter

if TYPE_CHECKING:
    import asyncio

    from starlette.routing import BaseRoute

    from rectbot.bot.chatlog import ChatLog
    from rectbot.bot.config import Config
    from rectbot.bot.core import Core
    from rectbot.bot.http import HttpHost
    from rectbot.retrieval.corpus import Corpus
    from rectbot.retrieval.search import Searcher

logger = logging.getLogger(__name__)

FOLLOW_SECONDS = 1.0  # how often a running bot checks for corpus changes made by other processes
T = TypeVar("T")


class NoChannel(ValueError):
    """A channel was asked for (or none is configured) without the settings it needs, or does not exist."""


class Channel(Protocol):
    """A chat channel as `rectbot serve` runs it."""

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes to mount on the shared host (none for a bot that polls)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set."""

    async def close(self) -> None:
        """After the HTTP host has stopped: finish work still pending and release clients."""


@dataclass(frozen=True)
class ChannelKind:
    """A channel `rectbot serve` can run: its name, the settings it needs, its allow-lists, how to build it."""

    name: ChannelName
    settings: Callable[[Config], dict[str, object]]  # each setting it needs, as the user sets it -> its value
    access: Callable[[Config], Access]
    build: Callable[[Core, Config], Channel]  # imports the channel's libraries
    requires: tuple[str, ...] = ()  # modules of its optional dependencies (the extra named after the channel)

    def missing(self, config: Config) -> list[str]:
        """The settings it needs that are not set."""
        return [name for name, value in self.settings(config).items() if not value]

    def uninstalled(self) -> list[str]:
        """The modules it needs that are not installed (rectbot was installed without its extra)."""
        return [module for module in self.requires if importlib.util.find_spec(module) is None]


def telegram_channel(core: Core, config: Config) -> Channel:
    """The Telegram bot, long-polling."""
    from rectbot.bot.telegram import TelegramChannel

    return TelegramChannel(core, config.telegram)


def wecom_channel(core: Core, config: Config) -> Channel:
    """The WeCom callback; it sends results of slow work only when the Secret and AgentId are set."""
    from rectbot.bot.wecom import WeComChannel
    from rectbot.bot.wecom_api import WeComApi
    from rectbot.bot.wecom_crypto import CryptoError, WeComCrypto

    settings = config.wecom
    try:
        crypto = WeComCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
    except CryptoError as error:
        raise NoChannel(f"cannot start wecom: wecom.encoding_aes_key: {error}") from None
    api = None
    if settings.secret and settings.agent_id:
        api = WeComApi(settings.api_base_url, settings.corp_id, settings.secret, settings.agent_id)
    else:
        logger.warning("wecom: secret or agent_id not set; results of slow work (重建索引) cannot be sent")
    return WeComChannel(core, crypto, api, path=settings.path)


CHANNELS: dict[ChannelName, ChannelKind] = {
    kind.name: kind
    for kind in [
        ChannelKind(
            ChannelName.TELEGRAM,
            settings=lambda config: {"telegram.token (or RECTBOT_TELEGRAM_TOKEN)": config.telegram.token},
            access=lambda config: Access.from_ids(
                config.telegram.admins, config.telegram.allowed_users, config.telegram.allowed_chats
            ),
            build=telegram_channel,
            requires=("telegram",),
        ),
        ChannelKind(
            ChannelName.WECOM,
            settings=lambda config: {
                "wecom.corp_id": config.wecom.corp_id,
                "wecom.token (or RECTBOT_WECOM_TOKEN)": config.wecom.token,
                "wecom.encoding_aes_key (or RECTBOT_WECOM_ENCODING_AES_KEY)": config.wecom.encoding_aes_key,
            },
            access=lambda config: Access.from_ids(config.wecom.admins, config.wecom.allowed_users),
            build=wecom_channel,
            requires=("cryptography", "httpx", "defusedxml"),
        ),
    ]
}


def channel_kind(name: str) -> ChannelKind:
    """The channel of that name; NoChannel lists the known ones."""
    if name not in CHANNELS:
        raise NoChannel(f"unknown channel {name!r}; known: {', '.join(CHANNELS)}")
    return CHANNELS[name]


def configured_channels(config: Config) -> list[str]:
    """The channels whose settings are all set."""
    return [name for name, kind in CHANNELS.items() if not kind.missing(config)]


def channels_to_run(config: Config, requested: list[str]) -> list[str]:
    """The channels asked for (default: every configured one); NoChannel names what is missing."""
    for name in requested:
        channel_kind(name)
    channels = requested or configured_channels(config)
    if not channels:
        needs = "; or ".join(f"for {name}, {', '.join(kind.settings(config))}" for name, kind in CHANNELS.items())
        raise NoChannel(f"no channel is configured: set {needs}")
    for name in channels:
        if missing := CHANNELS[name].missing(config):
            raise NoChannel(f"cannot start {name}: set {', '.join(missing)}")
        if uninstalled := CHANNELS[name].uninstalled():
            raise NoChannel(
                f"cannot start {name}: {', '.join(uninstalled)} not installed; install the extra: "
                f"pip install 'rectbot[{name}]' (or 'rectbot[all]')"
            )
    return channels


def searcher_for(corpus: Corpus, config: Config) -> Searcher:
    """A searcher with the configured parameters (and the semantic re-ranker, if configured; NoSemantic when
    its extra is not installed)."""
    from rectbot.retrieval.search import Searcher

    semantic = None
    if config.search.semantic:
        from rectbot.retrieval.semantic import SemanticReranker, SemanticUnavailable

        try:
            semantic = SemanticReranker.beside(corpus.store.database.path)
        except SemanticUnavailable as error:
            raise NoSemantic(f"search.semantic is on, but {error}") from None
    return Searcher.over(corpus, config.search.params(), semantic)


class NoSemantic(Exception):
    """search.semantic is on but its extra is not installed."""


async def embed_passages(searcher: Searcher, corpus: Corpus, progress: Callable[[int], None] | None = None) -> int:
    """Give every passage without a vector one, when the semantic re-ranker is on; return how many were embedded."""
    if searcher.semantic is None:
        return 0
    return await searcher.semantic.catch_up(corpus.store, progress)  # type: ignore[attr-defined]


async def keep_passages_embedded(searcher: Searcher, corpus: Corpus, interval: float) -> None:
    """Embed new passages every `interval` seconds until cancelled (uploads, `rectbot ingest` elsewhere)."""
    import asyncio

    while True:
        try:
            if embedded := await embed_passages(searcher, corpus):
                logger.info("semantic: embedded %d passages", embedded)
        except Exception:  # the next round tries again; questions meanwhile rank without the missing vectors
            logger.exception("semantic: could not embed new passages")
        await asyncio.sleep(interval)


def build_core(corpus: Corpus, chatlog: ChatLog, config: Config, searcher: Searcher | None = None) -> Core:
    """The platform-neutral core with the configured search (or `searcher`), limits and every channel's
    allow-lists."""
    from rectbot.bot.core import Core

    return Core(
        corpus,
        searcher or searcher_for(corpus, config),
        chatlog=chatlog,
        top_k=config.search.top_k,
        max_question_chars=config.search.max_question_chars,
        rate_limiter=RateLimiter(config.chat.rate_limit),
        access={name: kind.access(config) for name, kind in CHANNELS.items()},
        script=config.display.script,
        now=lambda: datetime.now(ZoneInfo(config.chat.timezone)),
    )


class Stopped(Exception):
    """`stop` was set before the work finished."""


async def before_stop(work: Awaitable[T], stop: asyncio.Event) -> T:
    """The result of `work`, or Stopped (and `work` cancelled) if `stop` is set first."""
    import asyncio

    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise Stopped
    return task.result()


async def serve(
    config: Config, channels: list[str], open_corpus: Callable[[], Awaitable[Corpus]], stop: asyncio.Event | None = None
) -> None:
    """Listen on the HTTP host, open the corpus, warm up, then run the channels until `stop` is set (default:
    SIGINT or SIGTERM); a channel that fails stops the others. The corpus is closed at the end."""
    import asyncio

    from rectbot.bot.chatlog import ChatLog
    from rectbot.bot.http import HttpHost

    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    for warning in config.renamed:
        logger.warning("config: %s", warning)
    host = HttpHost(config.http.host, config.http.port)
    port = await host.start()
    logger.info("http: listening on http://%s:%d (/healthz, /readyz)", config.http.host, port)
    corpus: Corpus | None = None
    try:
        host.wait_for("opening the corpus")
        opened = await before_stop(open_corpus(), stop)
        corpus = opened  # closed in the finally clause
        chatlog = await ChatLog.open(opened.store.database)
        await run_channels(build_core(opened, chatlog, config), config, channels, host, stop)
    except Stopped:
        logger.info("stopped while starting")
    finally:
        await host.stop()
        if corpus is not None:
            await corpus.close()


async def run_channels(core: Core, config: Config, names: list[str], host: HttpHost, stop: asyncio.Event) -> None:
    """Warm up, mount the channels' routes, say ready, run them until `stop`; then stop the host and close them."""
    import asyncio

    host.wait_for("warming up the search")
    await before_stop(warm_up(core), stop)
    channels = [channel_kind(name).build(core, config) for name in names]
    tasks: list[asyncio.Task[None]] = []
    # `rectbot ingest` or `remove` in another process, or another bot, must be searchable here without a restart.
    follower = asyncio.create_task(core.corpus.follow_changes(FOLLOW_SECONDS))
    # Passages are embedded in the background: questions are answered meanwhile, closeness counting for those
    # passages already embedded.
    embedder = asyncio.create_task(keep_passages_embedded(core.searcher, core.corpus, FOLLOW_SECONDS * 5))
    try:
        for channel in channels:
            host.mount(channel.routes())
        host.ready(lambda: {"passages": len(core.corpus.index) if core.corpus.index is not None else 0})
        logger.info("serving %s", ", ".join(names))
        tasks = [asyncio.create_task(channel.run(stop)) for channel in channels]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        stop.set()
        host.wait_for("stopping")
        follower.cancel()
        embedder.cancel()
        await asyncio.gather(*tasks, follower, embedder, return_exceptions=True)
        await host.stop()  # requests in flight finish before the channels close
        for channel in channels:
            await channel.close()


async def warm_up(core: Core) -> None:
    """Load everything a question needs before any channel is mounted, so the first question waits for nothing."""
    import asyncio

    started = time.perf_counter()
    await asyncio.to_thread(core.searcher.warm_up)
    logger.info("warmed up in %.2f s", time.perf_counter() - started)
