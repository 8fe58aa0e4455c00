"""The chat log in SQLite: questions and the answers shown, votes, conversations and seen message ids."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from rectbot.retrieval.db import Database, Migration, timestamp

# The chat log's named migrations. These two keep the names the corpus store gave them when it held these tables,
# so a database from then is recognised as migrated; later ones start with "chatlog_".
MIGRATIONS: list[Migration] = [
    Migration(
        "002_questions_feedback_conversations",
        """
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asked_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            question TEXT NOT NULL,
            hits INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            shown TEXT NOT NULL
        );
        CREATE INDEX questions_asked_at ON questions(asked_at);
        CREATE TABLE feedback (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (question_id, user_id)
        );
        CREATE TABLE conversations (
            channel TEXT NOT NULL,
            conversation TEXT NOT NULL,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            PRIMARY KEY (channel, conversation)
        );
        CREATE TABLE seen_messages (
            channel TEXT NOT NULL,
            message_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (channel, message_id)
        );
        """,
    ),
    Migration(
        # An answer's buttons carry a random token and work only for its owner (the asker, or anyone in the
        # group it was asked in). Older answers have neither: their buttons expire, 更多 and 上下文 N still work.
        "005_private_answers",
        """
        ALTER TABLE questions ADD COLUMN owner TEXT;
        ALTER TABLE questions ADD COLUMN token TEXT;
        """,
    ),
]

PRUNE_SEEN_EVERY = timedelta(minutes=10)
SEEN_KEPT = timedelta(days=1)  # platforms retry within seconds; a day of ids is plenty to recognise a retry


@dataclass(frozen=True)
class AskedQuestion:
    """One question as the query log keeps it."""

    channel: str  # telegram | wecom | cli
    user_id: str
    chat_type: str  # private | group | supergroup | app
    question: str
    hits: int  # excerpts in the first answer; 0 = nothing found
    latency_ms: float


@dataclass(frozen=True)
class SavedAnswer:
    """A logged question and the passages shown for it so far, so 更多 and 上下文 work after a restart."""

    id: int
    question: str
    shown: tuple[int, ...]
    channel: str = ""
    owner: str | None = None  # who may use its buttons; None for answers saved before buttons were private
    token: str | None = None  # the secret its buttons carry; None likewise


@dataclass(frozen=True)
class QuestionStats:
    """Query-log figures for an admin."""

    today: int
    week: int
    answered_week: int
    votes_up_week: int
    votes_down_week: int
    unanswered: tuple[tuple[str, int], ...]  # most frequent questions that found nothing, with counts


@dataclass(frozen=True)
class LoggedQuestion:
    """A question as an admin exports it to report upward: no user ids."""

    id: int
    asked_at: str  # ISO 8601, UTC
    channel: str
    chat_type: str
    question: str
    answered: bool  # confident excerpts were shown (a possibly related answer counts as not answered)
    excerpts: int
    votes_up: int
    votes_down: int


class ChatLog:
    """The chat tables of a database, written through its one write path (shared with the corpus)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._seen_pruned_at: datetime | None = None  # when seen_messages last lost its ids older than SEEN_KEPT

    @classmethod
    async def open(cls, database: Database) -> ChatLog:
        """The chat log kept in this database, its tables created or migrated first."""
        await database.migrate(MIGRATIONS)
        return cls(database)

    # Reads

    async def answer(self, question_id: int) -> SavedAnswer | None:
        """A logged question with the passages shown for it."""
        rows = await self.database.reader.execute_fetchall(
            "SELECT id, question, shown, channel, owner, token FROM questions WHERE id = ?", (question_id,)
        )
        if not rows:
            return None
        row = rows[0]
        return SavedAnswer(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5])

    async def conversation(self, channel: str, conversation: str) -> int | None:
        """The id of the last question in a conversation."""
        rows = await self.database.reader.execute_fetchall(
            "SELECT question_id FROM conversations WHERE channel = ? AND conversation = ?", (channel, conversation)
        )
        return rows[0][0] if rows else None

    async def votes(self, question_id: int) -> dict[str, int]:
        """user id -> +1 or -1 for the answer to a question."""
        rows = await self.database.reader.execute_fetchall(
            "SELECT user_id, vote FROM feedback WHERE question_id = ?", (question_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def question_stats(self, today_since: datetime, week_since: datetime, gaps: int = 5) -> QuestionStats:
        """Questions since the two times, the share answered this week and the commonest unanswered questions."""
        today, week = timestamp(today_since), timestamp(week_since)
        reader = self.database.reader
        rows = await reader.execute_fetchall(
            """SELECT count(*) FILTER (WHERE asked_at >= ?), count(*), count(*) FILTER (WHERE hits > 0)
               FROM questions WHERE asked_at >= ?""",
            (today, week),
        )
        votes = await reader.execute_fetchall(
            """SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)
               FROM feedback WHERE voted_at >= ?""",
            (week,),
        )
        unanswered = await reader.execute_fetchall(
            """SELECT min(trim(question)), count(*) AS times FROM questions WHERE hits = 0 AND asked_at >= ?
               GROUP BY lower(trim(question)) ORDER BY times DESC, max(asked_at) DESC LIMIT ?""",
            (week, gaps),
        )
        (today_count, week_count, answered), (up, down) = rows[0], votes[0]
        return QuestionStats(today_count, week_count, answered, up, down, tuple((row[0], row[1]) for row in unanswered))

    async def logged_questions(self, since: datetime | None = None) -> list[LoggedQuestion]:
        """Every question asked since a time (all when None), oldest first, with its votes."""
        rows = await self.database.reader.execute_fetchall(
            """SELECT q.id, q.asked_at, q.channel, q.chat_type, q.question, q.hits,
                      count(f.vote) FILTER (WHERE f.vote > 0), count(f.vote) FILTER (WHERE f.vote < 0)
               FROM questions q LEFT JOIN feedback f ON f.question_id = q.id
               WHERE q.asked_at >= ? GROUP BY q.id ORDER BY q.asked_at, q.id""",
            (timestamp(since) if since else "",),
        )
        return [
            LoggedQuestion(row[0], row[1], row[2], row[3], row[4], row[5] > 0, row[5], row[6], row[7]) for row in rows
        ]

    # Writes

    async def log_question(
        self, asked: AskedQuestion, shown: Sequence[int], conversation: str, *, owner: str | None = None,
        token: str | None = None,
    ) -> int:
        """Log a question with the passages shown for it and make it the conversation's current one; its id."""
        async with self.database.transaction() as db:
            cursor = await db.execute(
                """INSERT INTO questions (asked_at, channel, user_id, chat_type, question, hits, latency_ms, shown,
                                          owner, token)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (timestamp(), asked.channel, asked.user_id, asked.chat_type, asked.question, asked.hits,
                 round(asked.latency_ms, 2), json.dumps(list(shown)), owner, token),
            )
            question_id = cursor.lastrowid
            await db.execute(
                "INSERT INTO conversations (channel, conversation, question_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO UPDATE SET question_id = excluded.question_id",
                (asked.channel, conversation, question_id),
            )
        return question_id

    async def extend_answer(self, question_id: int, shown: Sequence[int]) -> None:
        """Record more passages shown for a question (after 更多)."""
        async with self.database.transaction() as db:
            rows = await db.execute_fetchall("SELECT shown FROM questions WHERE id = ?", (question_id,))
            if rows:
                before = json.loads(rows[0][0])
                await db.execute(
                    "UPDATE questions SET shown = ? WHERE id = ?", (json.dumps(before + list(shown)), question_id)
                )

    async def save_vote(self, question_id: int, user_id: str, vote: int) -> None:
        """Keep a user's latest vote on the answer to a question."""
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO feedback (question_id, user_id, vote, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (question_id, user_id, vote, timestamp()),
            )

    async def first_sighting(self, channel: str, message_id: str) -> bool:
        """Remember a platform message id; False if it was seen before (a retried delivery)."""
        now = datetime.now(timezone.utc)
        # Single statements, each its own transaction: one trip to the database thread, not four, which counts
        # when every message of a burst waits for the write path.
        async with self.database.writing() as db:
            if self._seen_pruned_at is None or now - self._seen_pruned_at > PRUNE_SEEN_EVERY:
                await db.execute("DELETE FROM seen_messages WHERE seen_at < ?", (timestamp(now - SEEN_KEPT),))
                self._seen_pruned_at = now
            cursor = await db.execute(
                "INSERT OR IGNORE INTO seen_messages (channel, message_id, seen_at) VALUES (?, ?, ?)",
                (channel, message_id, timestamp(now)),
            )
        return cursor.rowcount == 1
