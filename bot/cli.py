"""The `rectbot` command: ask, chat, ingest, remove, reindex, docs, eval, serve.

Each command imports what it needs when it runs: `rectbot --help` loads no search or chat library, and
`rectbot ask` no chat channel (python-telegram-bot, Starlette, uvicorn, httpx).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.serve import CHANNELS, NoChannel, build_core, channels_to_run, searcher_for, serve
from retrieval.text import in_script, safe_text

if TYPE_CHECKING:
    from bot.config import Config
    from retrieval.corpus import Corpus, Progress
    from retrieval.search import Hit, SearchResult
    from retrieval.parsing import ParsePool
    from retrieval.store import DocumentRow

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A problem to report to the user in one line, with exit status 2."""


SIGPIPE_STATUS = 141  # what a shell reports for a program stopped by SIGPIPE, as `yes | head` is


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


async def open_corpus(config: Config, progress: Progress | None = None) -> Corpus:
    """Open the configured corpus, turning storage failures into a clear message."""
    import sqlite3

    from retrieval.corpus import Corpus
    from retrieval.index import IndexParams
    from retrieval.passages import PassageParams

    try:
        return await Corpus.open(
            config.storage.database,
            seeds=config.corpus.seeds,
            index_params=IndexParams(
                engine=config.index.engine, k1=config.index.k1, b=config.index.b, idf=config.index.idf
            ),
            passage_params=PassageParams(
                target_chars=config.passages.target_chars, max_chars=config.passages.max_chars
            ),
            progress=progress,
            parser=parse_pool(config),
        )
    except sqlite3.DatabaseError as error:
        raise CommandError(f"cannot open database {config.storage.database}: {error}") from None
    except OSError as error:
        raise CommandError(f"cannot open database {config.storage.database}: {error}") from None


def parse_pool(config: Config) -> ParsePool:
    """The process's worker pool, or one with the configured limits when they are not the defaults."""
    from retrieval.parsing import ParseLimits, ParsePool, shared_pool

    limits = ParseLimits(config.parsing.memory_mb, config.parsing.cpu_seconds, config.parsing.wall_seconds)
    return shared_pool() if limits == ParseLimits() else ParsePool(limits)


def hit_json(hit: Hit) -> dict:
    """A hit as the JSON object `rectbot ask --json` prints."""
    return {
        "text": hit.text,
        "title": hit.title,
        "source": hit.source,
        "date": hit.date,
        "doc_id": hit.doc_id,
        "passage_id": hit.passage_id,
        "section": hit.section,
        "author": hit.author,
        "region": hit.region,
        "score": round(hit.score, 4),
        "matched_terms": list(hit.matched_terms),
    }


async def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    """Answer one question, or one per line of standard input with `-`."""
    from retrieval.search import EmptyQuestion

    if args.top < 1:
        raise CommandError("--top must be at least 1")
    questions = read_questions(sys.stdin) if args.question == "-" else [safe_text(args.question)]
    corpus = await open_corpus(config, terminal_progress(sys.stderr))
    try:
        searcher = searcher_for(corpus, config)
        for question in questions:
            if args.question == "-" and not question.strip():
                continue
            if len(question) > config.search.max_question_chars:
                message = f"question longer than {config.search.max_question_chars} characters"
                if args.question != "-":
                    raise CommandError(message)
                print(json.dumps({"question": question, "error": message}, ensure_ascii=False) if args.json else message)
                continue
            try:
                result = await searcher.search(question, k=args.top)
            except EmptyQuestion as error:
                raise CommandError(str(error)) from None
            if args.json:
                print(safe_text(json.dumps(result_json(question, result), ensure_ascii=False)))
            else:
                shown = format_result(question, result, show_question=len(questions) > 1, script=config.display.script)
                print(safe_text(shown))
    finally:
        await corpus.close()
    return 0


def result_json(question: str, result: SearchResult) -> dict[str, object]:
    """`--json`: confident excerpts in `hits`, possibly related ones in `related`, and how the question was read."""
    return {
        "question": question,
        "confidence": str(result.confidence),
        "hits": [hit_json(h) for h in result.hits],
        "related": [hit_json(h) for h in result.related],
        "searched_as": [{"typed": typed, "searched": searched} for typed, searched in result.query.repairs],
    }


def format_result(question: str, result: SearchResult, show_question: bool, script: str = "simplified") -> str:
    """Numbered excerpts with their citations (marked when only possibly related), or a plain 'nothing found'."""
    from bot.render import citation, notes

    lines = [f"问：{question}"] if show_question else []
    lines += notes(result.query.repairs, related=bool(result.related))
    if not result.shown:
        lines.append("没有找到相关的报告段落。试试更短的问题或报告里的关键词。")
    for number, hit in enumerate(result.shown, start=1):
        lines.append(f"【{number}】{in_script(hit.text, script)}\n    —— {citation(hit, script)}\n")
    return "\n".join(lines)


async def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """An interactive chat on the terminal, with the replies the bots give."""
    import asyncio
    import getpass

    from bot.core import Asker, Pending
    from bot.render import render_plain

    corpus = await open_corpus(config, terminal_progress(sys.stderr))
    try:
        core = build_core(corpus, config)
        asker = Asker(channel="cli", user_id=getpass.getuser(), is_admin=True)
        print("rectbot 已就绪。输入问题，“帮助”看用法，Ctrl-D 退出。")
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                print()
                return 0
            if not line.strip():
                continue
            reply = await core.handle(asker, safe_text(line))
            print(render_plain(reply))
            if isinstance(reply, Pending):
                print(render_plain(await reply.job))
            print()
    finally:
        await corpus.close()


async def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    """Ingest files and folders, one line per file; exit 1 if any was rejected (skipped formats do not count)."""
    missing = [path for path in args.paths if not path.exists()]
    if missing:
        raise CommandError(f"no such file or folder: {', '.join(map(str, missing))}")
    progress = terminal_progress(sys.stderr)
    corpus = await open_corpus(config, progress)
    try:
        reports = await corpus.ingest(args.paths, progress=progress)
    finally:
        await corpus.close()
    for report in reports:
        detail = f" ({report.reason})" if report.reason else ""
        articles = "".join(
            f"\n    {a.title or '(untitled)'} | {a.date or 'date unknown'} | {a.source or 'source unknown'}"
            f" | {a.passages} passages{' | republished copy, not searched twice' if a.republished else ''}"
            for a in report.articles
        )
        print(f"{report.status:<9} {report.path}{detail}{articles}")
    return 1 if any(r.status == "rejected" for r in reports) else 0


async def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    """Remove documents (by id) or files (by path), after a confirmation on a terminal or with --yes."""
    import getpass

    corpus = await open_corpus(config, terminal_progress(sys.stderr))
    try:
        documents = await corpus.store.documents()
        by_id = {str(doc.id): doc.path for doc in documents}
        known_paths = {doc.path for doc in documents}
        paths: list[str] = []
        unknown = []
        for target in args.targets:
            path = by_id.get(target) or (target if target in known_paths else None)
            if path is None:
                unknown.append(target)
            elif path not in paths:
                paths.append(path)
        if unknown:
            raise CommandError(f"no document or file {', '.join(unknown)} (see rectbot docs); nothing was removed")
        for path in paths:
            print(f"{path}:")
            for doc in documents:
                if doc.path == path:
                    print(f"    #{doc.id} {doc.title or '(untitled)'}")
        if not args.yes:
            if not sys.stdin.isatty():
                raise CommandError("not a terminal: add --yes to remove without being asked; nothing was removed")
            if input(f"Remove {len(paths)} file(s) from the corpus? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing was removed")
                return 1
        removed = await corpus.remove(paths, removed_by=f"cli:{getpass.getuser()}")
    finally:
        await corpus.close()
    for removal in removed:
        print(f"removed   {removal.path} ({len(removal.titles)} documents)")
    return 0


async def cmd_reindex(args: argparse.Namespace, config: Config) -> int:
    """Rebuild the index from the database."""
    progress = terminal_progress(sys.stderr)
    corpus = await open_corpus(config, progress)
    try:
        report = await corpus.reindex(progress=progress)
    finally:
        await corpus.close()
    print(f"indexed {report.passages} passages in {report.seconds:.2f} s")
    return 0


async def cmd_docs(args: argparse.Namespace, config: Config) -> int:
    """List the documents, filtered by region, date or words in title, source or path."""
    import dataclasses

    corpus = await open_corpus(config, terminal_progress(sys.stderr))
    try:
        documents = [doc for doc in await corpus.store.documents() if wanted(doc, args)]
    finally:
        await corpus.close()
    if args.json:
        print(json.dumps([dataclasses.asdict(doc) for doc in documents], ensure_ascii=False, indent=1))
        return 0
    for doc in documents:
        copy = f" | copy of #{doc.duplicate_of}" if doc.duplicate_of else ""
        also = f" | also in: {', '.join(doc.also_in)}" if doc.also_in and not doc.duplicate_of else ""
        print(f"#{doc.id} {doc.title or '(untitled)'}")
        print(
            f"    {doc.date or 'date unknown'} | {doc.source or 'source unknown'} | {doc.author or '-'} | "
            f"{doc.region or '-'} | {doc.passages} passages{copy}{also} | {doc.path}"
        )
        if doc.sections:
            print(f"    sections: {', '.join(doc.sections)}")
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
    from retrieval.evaluation import evaluate, load_questions

    try:
        questions = load_questions(args.file)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandError(f"cannot read question file {args.file}: {error}") from None
    corpus = await open_corpus(config, terminal_progress(sys.stderr))
    try:
        report = await evaluate(searcher_for(corpus, config), questions)
    finally:
        await corpus.close()
    if args.verbose:
        for result in report.results:
            mark = "ok " if (result.first_good_rank or 0) and result.first_good_rank <= 3 else "-- "
            if result.question.kind == "abstain":
                mark = "ok " if result.hits == 0 else "-- "
            print(f"{mark}{result.question.id} [{result.question.kind}] rank={result.first_good_rank} "
                  f"hits={result.hits} related={result.related} {result.question.q}")
    print(f"questions: {len(report.answerable)} answerable, {len(report.abstain)} abstain")
    print(f"Hit@1  {report.hit_at(1):.3f}")
    print(f"Hit@3  {report.hit_at(3):.3f}")
    print(f"MRR@5  {report.mrr_at_5:.3f}")
    print(f"paraphrase Hit@3  {report.hit_at(3, 'paraphrase'):.3f}")
    print(f"Abstain {report.abstain_rate:.3f}")
    return 0


async def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """Run the chat channels (all configured ones by default) until interrupted."""
    from telegram.error import InvalidToken, TelegramError

    try:
        channels = channels_to_run(config, args.channels)
    except NoChannel as error:
        raise CommandError(str(error)) from None
    try:
        # The HTTP host listens (/healthz, /readyz) while the corpus opens.
        await serve(config, channels, lambda: open_corpus(config, terminal_progress(sys.stderr)))
    except (NoChannel, OSError) as error:
        raise CommandError(str(error)) from None
    except InvalidToken as error:
        raise CommandError(
            f"telegram: {error} The Bot API answered 401 or 404: check telegram.token, and telegram.base_url if set"
        ) from None
    except TelegramError as error:
        raise CommandError(f"telegram: {error} (check telegram.token, and telegram.proxy where Telegram is blocked)") from None
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], Awaitable[int]]] = {
    "ask": cmd_ask,
    "chat": cmd_chat,
    "ingest": cmd_ingest,
    "reindex": cmd_reindex,
    "docs": cmd_docs,
    "remove": cmd_remove,
    "eval": cmd_eval,
    "serve": cmd_serve,
}


def date_prefix(text: str) -> str:
    """A --since value: YYYY, YYYY-MM or YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise argparse.ArgumentTypeError(f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; --config is accepted by every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (default: $RECTBOT_CONFIG, else ./config.toml)")
    common.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    parser = argparse.ArgumentParser(
        prog="rectbot",
        description="Cited excerpts from real reports on rectifying weak and lax grassroots party organisations.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ask = sub.add_parser("ask", parents=[common], help="answer a question with the best excerpts")
    ask.add_argument("question", help="the question, or - to read one question per line from standard input")
    ask.add_argument("--top", type=int, default=3, help="number of excerpts (default 3)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rectbot` command."""
    args = build_parser().parse_args(argv)
    import asyncio  # after parsing: `rectbot --help` needs neither asyncio nor the config machinery

    from bot.config import ConfigError, load_config
    from bot.logs import RedactSecrets, configure_logging

    redactor = RedactSecrets(())
    try:
        config = load_config(args.config)
        redactor = RedactSecrets(config.secrets())
        configure_logging(args.log_level, config.secrets())
        return asyncio.run(COMMANDS[args.command](args, config))
    except (ConfigError, CommandError) as error:
        # Messages can quote what a library said, and libraries quote tokens: redacted as the logs are.
        print(f"rectbot: {safe_text(redactor.redact(str(error)))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`rectbot ask - | head`): stop quietly, and let Python's last flush go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS


if __name__ == "__main__":
    sys.exit(main())
