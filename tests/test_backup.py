"""rectbot backup: a consistent copy of a live WAL database that a restore brings back whole."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from rectbot.bot.backup import BackupError, backup_database
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.tokenizer import Tokenizer


async def test_a_backup_of_the_seeded_database_answers_like_the_original(
    corpus: Corpus, seeded_dir: Path, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    before = await Searcher.over(corpus).search("村官回归工程", k=3)
    report = backup_database(seeded_dir / "rectbot.sqlite3", tmp_path / "backup.sqlite3")
    with sqlite3.connect(seeded_dir / "rectbot.sqlite3") as db:
        assert report.documents == db.execute("SELECT count(*) FROM documents").fetchone()[0] > 0
    # Restore: the copy becomes the database of a new data folder; the index is rebuilt from it.
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    (tmp_path / "backup.sqlite3").rename(restored_dir / "rectbot.sqlite3")
    restored = await Corpus.open(restored_dir / "rectbot.sqlite3", seeds=None, tokenizer=tokenizer)
    try:
        after = await Searcher.over(restored).search("村官回归工程", k=3)
        assert [h.text for h in after.hits] == [h.text for h in before.hits]
    finally:
        await restored.close()


def test_a_backup_taken_while_another_process_writes_holds_whole_transactions(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE questions (id INTEGER PRIMARY KEY, text TEXT, pair INTEGER)")
    stop = threading.Event()

    def write() -> None:
        # Each transaction adds two rows of one pair: a copy holding one of them alone is inconsistent.
        with sqlite3.connect(source, timeout=30) as db:
            pair = 0
            while not stop.is_set():
                db.execute("INSERT INTO questions (text, pair) VALUES (?, ?), (?, ?)", ("x" * 500, pair, "y" * 500, pair))
                db.commit()
                pair += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backup_database(source, tmp_path / f"copy{i}.sqlite3", pages_per_step=1) for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        with sqlite3.connect(copy.target) as db:
            rows = db.execute("SELECT count(*), count(DISTINCT pair) FROM questions").fetchone()
            assert rows[0] == 2 * rows[1]
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert not copy.target.with_name(copy.target.name + "-wal").exists()


def test_a_backup_never_overwrites_and_says_why(seeded_dir: Path, tmp_path: Path) -> None:
    existing = tmp_path / "old.sqlite3"
    existing.write_bytes(b"an earlier backup")
    with pytest.raises(BackupError, match="exists"):
        backup_database(seeded_dir / "rectbot.sqlite3", existing)
    assert existing.read_bytes() == b"an earlier backup"
    with pytest.raises(BackupError, match="no database"):
        backup_database(tmp_path / "missing.sqlite3", tmp_path / "new.sqlite3")
    with pytest.raises(BackupError, match="no folder"):
        backup_database(seeded_dir / "rectbot.sqlite3", tmp_path / "nowhere" / "new.sqlite3")
    assert not list(tmp_path.glob(".*partial"))
