"""Who may use the bot, who may administer it, and how often anyone may ask."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum


class ChannelName(StrEnum):
    """Where a message comes from; allow-lists, rate limits and the chat log are kept per channel."""

    TELEGRAM = "telegram"
    WECOM = "wecom"
    CLI = "cli"  # `rectbot chat`, whose user is an admin


@dataclass(frozen=True)
class Access:
    """Allow-lists from the config; empty lists mean everyone may ask, and nobody administers."""

    admins: frozenset[str] = frozenset()
    allowed_users: frozenset[str] = frozenset()
    allowed_chats: frozenset[str] = frozenset()

    @classmethod
    def from_ids(cls, admins: Iterable[object], allowed_users: Iterable[object] = (), allowed_chats: Iterable[object] = ()) -> Access:
        """Build from config values (numbers for Telegram, strings for WeCom)."""
        return cls(frozenset(map(str, admins)), frozenset(map(str, allowed_users)), frozenset(map(str, allowed_chats)))

    def is_admin(self, user_id: object) -> bool:
        """Whether the user may add documents, reindex and read statistics."""
        return str(user_id) in self.admins

    def allows(self, user_id: object, chat_id: object | None = None) -> bool:
        """Everyone when no allow-list is set; else admins, listed users, and anyone in a listed chat."""
        if not self.allowed_users and not self.allowed_chats:
            return True
        return (
            self.is_admin(user_id)
            or str(user_id) in self.allowed_users
            or (chat_id is not None and str(chat_id) in self.allowed_chats)
        )


class Verdict(Enum):
    """What to do with a message under the rate limit."""

    ALLOW = "allow"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # still over the limit: stay silent rather than flood the chat back


class RateLimiter:
    """A sliding window of `per_minute` messages per user; the first message over it is warned, the rest dropped."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._times: dict[str, deque[float]] = defaultdict(deque)
        self._warned: set[str] = set()

    def check(self, key: str) -> Verdict:
        """Count a message from `key` and say whether to answer it."""
        now = self.clock()
        times = self._times[key]
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) < self.per_minute:
            times.append(now)
            self._warned.discard(key)
            return Verdict.ALLOW
        if key in self._warned:
            return Verdict.DROP
        self._warned.add(key)
        return Verdict.WARN
