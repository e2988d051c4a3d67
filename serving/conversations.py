"""The virtual mentor's conversations: state per conversation id, in SQLite inside the data dir.

A conversation's state is :class:`analysis.assistant.ConversationState` (ids and filters,
never message text). It is stored in ``<data_dir>/assistant.db`` (SQLite, WAL), not in
process memory, so every worker of the service and the ``skillpath ask`` command continue
the same conversations: with two workers the next message may reach the other one. Each
conversation belongs to the mentee who started it; an id that is unknown, expired
(``ttl_s`` after its last message) or another mentee's is refused the same way, so the
answer does not tell which. About ``max_conversations`` are kept: every few hundred saves
the expired ones and the least recently used beyond that number are deleted. Commits are not fsynced (``synchronous=NORMAL``): a power cut may lose
the last messages' context, never the event log's data.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.errors import InvalidValueError

if TYPE_CHECKING:  # the assistant's package loads its search stack: only a conversation read needs it
    from analysis.assistant import ConversationState

__all__ = ["ConversationStore", "new_conversation_id", "UNKNOWN_CONVERSATION"]

UNKNOWN_CONVERSATION = "unknown or expired conversation; send the message without conversation_id to start a new one"
_PRUNE_EVERY = 256  # saves between two prunes of expired and surplus rows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated_us);
"""


def new_conversation_id() -> str:
    """22 URL-safe random characters (128 bits): not guessable, so an id is as good as a session."""
    return secrets.token_urlsafe(16)


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


class ConversationStore:
    """Conversation states in one SQLite file, shared by processes; thread-safe within one."""

    def __init__(self, path: str | Path, *, ttl_s: float, max_conversations: int) -> None:
        self.path = Path(path)
        self.ttl_us = int(ttl_s * 1_000_000)
        self.max_conversations = int(max_conversations)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._saves = 0

    def load(self, conversation_id: str, user_id: str, *, now: datetime) -> ConversationState:
        """The state of ``user_id``'s conversation; :class:`InvalidValueError` on ``conversation_id`` otherwise."""
        with self._lock:
            row = self._db.execute("SELECT user_id, state, updated_us FROM conversations WHERE conversation_id = ?",
                                   (conversation_id,)).fetchone()
        if row is None or row[0] != user_id or _us(now) - int(row[2]) > self.ttl_us:
            raise InvalidValueError("conversation_id", UNKNOWN_CONVERSATION)
        from analysis.assistant import ConversationState

        return ConversationState.from_dict(json.loads(row[1]))

    def save(self, conversation_id: str, user_id: str, state: ConversationState, *, now: datetime) -> None:
        """Store ``state`` as the conversation's latest (creating it); never moves an id to another mentee."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO conversations (conversation_id, user_id, state, updated_us) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_us = excluded.updated_us "
                "WHERE conversations.user_id = excluded.user_id",
                (conversation_id, user_id, json.dumps(state.to_dict(), separators=(",", ":")), _us(now)))
            if cur.rowcount == 0:
                raise InvalidValueError("conversation_id", UNKNOWN_CONVERSATION)
            self._saves += 1
            if self._saves % _PRUNE_EVERY == 1:
                self._prune(_us(now))

    def forget_user(self, user_id: str) -> int:
        """Delete every conversation of ``user_id`` (a mentee's data being forgotten); returns how many."""
        with self._lock:
            return self._db.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,)).rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def _prune(self, now_us: int) -> None:
        self._db.execute("DELETE FROM conversations WHERE updated_us < ?", (now_us - self.ttl_us,))
        self._db.execute("DELETE FROM conversations WHERE conversation_id IN (SELECT conversation_id FROM "
                         "conversations ORDER BY updated_us DESC LIMIT -1 OFFSET ?)", (self.max_conversations,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
