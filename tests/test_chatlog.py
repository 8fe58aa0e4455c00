"""The chat log: questions, saved answers, votes, conversations and seen message ids, beside the corpus."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rectbot.bot import chatlog as chatlog_module
from rectbot.bot.chatlog import AskedQuestion, ChatLog, SavedAnswer
from rectbot.retrieval import store as store_module
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.db import timestamp
from rectbot.retrieval.store import Removal, Store
from testkit.old_releases import migrated_as_released, release_migrations, written_by_release

SINCE_THE_RELEASE = {"007_file_origins"}  # where each ingested file is on disk (session 24)

LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


def asked(question: str, hits: int = 3, user: str = "u1", channel: str = "telegram") -> AskedQuestion:
    return AskedQuestion(channel, user, "private", question, hits, 2.5)


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[tuple[Store, ChatLog]]:
    """The corpus store and the chat log of the database at path, as the bot opens them."""
    store = await Store.open(path)
    try:
        yield store, await ChatLog.open(store.database)
    finally:
        await store.close()


async def migration_names(store: Store) -> list[str]:
    return [row[0] for row in await store.database.reader.execute_fetchall("SELECT name FROM migrations")]


async def test_logging_questions_does_not_make_the_index_stale(corpus: Corpus, chatlog: ChatLog) -> None:
    before = await corpus.store.fingerprint()
    question_id = await chatlog.log_question(asked("第一书记"), [1, 2, 3], "u1")
    await chatlog.extend_answer(question_id, [4, 5])
    await chatlog.save_vote(question_id, "u1", 1)
    assert await chatlog.first_sighting("wecom", "1")
    assert await corpus.store.fingerprint() == before


async def test_an_answer_survives_reopening_the_database(corpus: Corpus, chatlog: ChatLog) -> None:
    question_id = await chatlog.log_question(asked("第一书记"), [7, 8, 9], "u1")
    await chatlog.extend_answer(question_id, [10])
    async with opened(corpus.store.path) as (_, reopened):
        saved = await reopened.answer(question_id)
        assert saved is not None and saved.question == "第一书记" and saved.shown == (7, 8, 9, 10)
        assert await reopened.conversation("telegram", "u1") == question_id
        assert await reopened.answer(question_id + 1000) is None


async def test_the_latest_vote_of_a_user_counts(chatlog: ChatLog) -> None:
    question_id = await chatlog.log_question(asked("第一书记"), [1], "u1")
    await chatlog.save_vote(question_id, "u1", 1)
    await chatlog.save_vote(question_id, "u1", -1)
    await chatlog.save_vote(question_id, "u2", 1)
    assert await chatlog.votes(question_id) == {"u1": -1, "u2": 1}


async def test_question_stats_count_answered_and_list_the_gaps(chatlog: ChatLog) -> None:
    for question, hits in [("第一书记", 3), ("高铁票", 0), ("高铁票", 0), (" 高铁票", 0), ("天气", 0), ("村两委", 2)]:
        await chatlog.log_question(asked(question, hits), [], "u1")
    now = datetime.now(timezone.utc)
    stats = await chatlog.question_stats(now - timedelta(hours=1), now - timedelta(days=7))
    assert (stats.today, stats.week, stats.answered_week) == (6, 6, 2)
    assert stats.unanswered == (("高铁票", 3), ("天气", 1))
    later = await chatlog.question_stats(now + timedelta(hours=1), now + timedelta(hours=1))
    assert (later.today, later.week, later.unanswered) == (0, 0, ())


async def test_a_message_id_is_new_only_once(chatlog: ChatLog) -> None:
    assert await chatlog.first_sighting("wecom", "123") is True
    assert await chatlog.first_sighting("wecom", "123") is False
    assert await chatlog.first_sighting("telegram", "123") is True


async def test_the_corpus_and_the_chat_log_never_share_a_migration_name() -> None:
    corpus_names = {migration.name for migration in store_module.MIGRATIONS}
    chat_names = {migration.name for migration in chatlog_module.MIGRATIONS}
    assert corpus_names.isdisjoint(chat_names)
    # Together they are what the release applied, so a database it left is recognised as migrated, and the
    # migrations added since.
    assert corpus_names | chat_names == {name for name, _ in release_migrations()} | SINCE_THE_RELEASE


async def test_a_new_database_records_both_owners_migrations_and_reopens_without_change(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    async with opened(path) as (store, _):
        names = await migration_names(store)
    assert sorted(names) == sorted({name for name, _ in release_migrations()} | SINCE_THE_RELEASE)
    async with opened(path) as (store, chatlog):
        assert await migration_names(store) == names
        assert await chatlog.answer(await chatlog.log_question(asked("第一书记"), [1], "u1")) is not None


async def test_a_database_from_the_first_release_gains_the_chat_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    migrated_as_released(path, through="001_documents_and_passages").close()
    async with opened(path) as (_, chatlog):
        question_id = await chatlog.log_question(asked("第一书记"), [], "u1", owner="user:u1", token="t" * 12)
        assert await chatlog.answer(question_id) == SavedAnswer(question_id, "第一书记", (), "telegram", "user:u1", "t" * 12)


async def test_answers_logged_before_private_buttons_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with migrated_as_released(path, through="004_files_by_path_and_removals") as db:  # with an answer in it
        db.execute("INSERT INTO questions (asked_at, channel, user_id, chat_type, question, hits, latency_ms, shown) "
                   "VALUES ('2026-01-01T00:00:00+00:00', 'telegram', 'u1', 'private', '第一书记', 3, 1.0, '[7, 8, 9]')")
        db.execute("INSERT INTO conversations VALUES ('telegram', 'u1', 1)")
    db.close()
    async with opened(path) as (_, chatlog):
        old = await chatlog.answer(1)
        assert old is not None and (old.question, old.shown) == ("第一书记", (7, 8, 9))
        assert (old.owner, old.token) == (None, None)  # no token: its buttons are answered as expired
        assert await chatlog.conversation("telegram", "u1") == 1  # 更多 typed as text still pages it
        new_id = await chatlog.log_question(asked("村两委"), [1], "u1", owner="user:u1", token="t" * 12)
        new = await chatlog.answer(new_id)
        assert (new.channel, new.owner, new.token) == ("telegram", "user:u1", "t" * 12)


async def test_a_database_the_release_wrote_keeps_every_row_and_all_of_it_works(tmp_path: Path) -> None:
    path = tmp_path / "release.sqlite3"
    written_by_release(path)
    with sqlite3.connect(path) as db:
        # As though the release saw the message a minute ago: ids older than a day are forgotten on purpose.
        db.execute("UPDATE seen_messages SET seen_at = ?", (timestamp(datetime.now(timezone.utc) - timedelta(minutes=1)),))
        applied = db.execute("SELECT name, applied_at FROM migrations ORDER BY name").fetchall()
    db.close()
    async with opened(path) as (store, chatlog):
        rows = await store.database.reader.execute_fetchall("SELECT name, applied_at FROM migrations ORDER BY name")
        # Nothing the release applied is run again; what came since is applied once.
        assert [tuple(row) for row in rows if row[0] not in SINCE_THE_RELEASE] == applied
        assert {row[0] for row in rows} - {name for name, _ in applied} == SINCE_THE_RELEASE

        # The corpus, as it was.
        assert await store.fingerprint() == "acff637cc3644c24a2275b892792c264:4"
        docs = await store.documents()
        assert [(d.id, d.path, d.title, d.duplicate_of) for d in docs] == [
            (1, "2021/红色夜校.txt", "红色夜校", None), (2, "转载/红色夜校.txt", "红色夜校", 1)]
        assert [p.text for p in (await store.passages_by_id([1, 2])).values()] == [
            "某某县开办红色夜校，共办夜校四十二期。", "参加党员一千二百人次。"]
        [removal] = await store.removals()
        assert removal == Removal("telegram/42/旧报告.txt", ("旧报告",), "telegram:42", removal.removed_at)

        # The chat log, as it was.
        assert await chatlog.answer(1) == SavedAnswer(1, "红色夜校怎么办", (1, 2), "telegram", "user:1001", "tok-first-12")
        assert await chatlog.answer(2) == SavedAnswer(2, "夜校", (1,), "telegram", "chat:-500", "tok-group-12")
        assert await chatlog.answer(3) == SavedAnswer(3, "高铁票", (), "wecom", "user:zhangsan", "tok-wecom-12")
        assert [await chatlog.conversation(*key) for key in
                [("telegram", "1001"), ("telegram", "-500/1002"), ("wecom", "zhangsan")]] == [1, 2, 3]
        assert (await chatlog.votes(1), await chatlog.votes(2)) == ({"1001": 1}, {"1002": 1, "1003": -1})

        # And it all still works: a seen message id dedupes, a vote changes, a conversation moves on, 更多 extends.
        assert await chatlog.first_sighting("wecom", "7000000001") is False
        assert await chatlog.first_sighting("wecom", "7000000002") is True
        await chatlog.save_vote(2, "1003", 1)
        assert await chatlog.votes(2) == {"1002": 1, "1003": 1}
        new_id = await chatlog.log_question(asked("第一书记", user="1001"), [3], "1001", owner="user:1001", token="t" * 12)
        assert new_id == 4 and await chatlog.conversation("telegram", "1001") == 4
        await chatlog.extend_answer(1, [3])
        assert (await chatlog.answer(1)).shown == (1, 2, 3)
        stats = await chatlog.question_stats(LONG_AGO, LONG_AGO)
        assert (stats.week, stats.answered_week, stats.votes_up_week, stats.votes_down_week) == (4, 3, 3, 0)
        assert stats.unanswered == (("高铁票", 1),)
        assert await store.fingerprint() == "acff637cc3644c24a2275b892792c264:4"  # chat writes leave the corpus be

        # The corpus too: removing the original hands its text to the copy, with new ids never reused.
        await store.delete_files(["2021/红色夜校.txt"], "test")
        assert [(d.id, d.duplicate_of) for d in await store.documents()] == [(2, None)]
        assert [row[0] for row in await store.searchable_passages()] == [3, 4]
        assert await store.fingerprint() == "acff637cc3644c24a2275b892792c264:5"


async def test_questions_are_exported_with_their_outcome_and_votes_but_no_user(chatlog: ChatLog) -> None:
    answered = await chatlog.log_question(asked("第一书记怎么选派", hits=3, user="secret-user"), [1, 2, 3], "c1")
    await chatlog.log_question(asked("合作医疗怎么报销", hits=0, channel="wecom"), [], "c2")
    await chatlog.save_vote(answered, "u1", 1)
    await chatlog.save_vote(answered, "u2", 1)
    await chatlog.save_vote(answered, "u3", -1)
    exported = await chatlog.logged_questions()
    assert [(q.question, q.channel, q.answered, q.votes_up, q.votes_down) for q in exported] == [
        ("第一书记怎么选派", "telegram", True, 2, 1),
        ("合作医疗怎么报销", "wecom", False, 0, 0),
    ]
    assert all("secret-user" not in repr(q) for q in exported)
    assert await chatlog.logged_questions(since=datetime.now(timezone.utc) + timedelta(minutes=1)) == []
    assert len(await chatlog.logged_questions(since=LONG_AGO)) == 2
