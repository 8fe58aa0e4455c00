"""Persistence: what the corpus keeps across a reopen (migrations, passage shape) and a database an older release
left, migrated without loss."""

from __future__ import annotations

from pathlib import Path

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.passages import PassageParams
from rectbot.retrieval.tokenizer import Tokenizer
from testkit.old_releases import migrated_as_released
from tests.conftest import SEEDS
from tests.corpus_helpers import search_texts


async def test_migrations_are_recorded(corpus: Corpus) -> None:
    rows = await corpus.store._reader.execute_fetchall("SELECT name FROM migrations")
    assert [row[0] for row in rows] == ["001_documents_and_passages", "003_never_reuse_document_and_passage_ids",
                                         "004_files_by_path_and_removals", "006_document_lookups",
                                         "007_file_origins"]


async def test_changing_the_passage_shape_resplits_on_reindex(seeded_dir: Path, tokenizer: Tokenizer) -> None:
    database = seeded_dir / "rectbot.sqlite3"
    short = PassageParams(target_chars=100, max_chars=160)
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer, passage_params=short)
    try:
        texts = [text for _, _, text in await corpus.store.searchable_passages()]
        assert max(map(len, texts)) <= short.max_chars
    finally:
        await corpus.close()
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)  # the default shape again
    try:
        default = [text for _, _, text in await corpus.store.searchable_passages()]
        assert len(default) < len(texts) and short.max_chars < max(map(len, default)) <= PassageParams().max_chars
    finally:
        await corpus.close()


async def test_a_database_from_before_paths_migrates_without_loss(tmp_path: Path, tokenizer: Tokenizer) -> None:
    database = tmp_path / "old.sqlite3"
    old = migrated_as_released(database, through="003_never_reuse_document_and_passage_ids")
    old.execute("INSERT INTO files VALUES (1, 'night-school.txt', 'abc', 'utf-8', 10, '2026-01-01')")
    old.execute(
        "INSERT INTO documents (id, file_id, position, title, sections, text, text_hash) "
        "VALUES (7, 1, 0, '红色夜校', '[]', '某某县开办红色夜校，共办夜校四十二期。', 'h')"
    )
    old.execute("INSERT INTO passages (id, document_id, position, start, end, text) "
                "VALUES (9, 7, 0, 0, 19, '某某县开办红色夜校，共办夜校四十二期。')")
    old.commit()
    old.close()
    corpus = await Corpus.open(database, tokenizer=tokenizer)
    try:
        [doc] = await corpus.store.documents()
        assert (doc.id, doc.path, doc.file_name, doc.title) == (7, "night-school.txt", "night-school.txt", "红色夜校")
        assert "四十二期" in (await search_texts(corpus, "红色夜校"))[0]
    finally:
        await corpus.close()
