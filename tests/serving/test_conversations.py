"""The conversation store: one mentee per conversation, TTL, bounded size, shared by processes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from analysis.assistant import ConversationState, Entities
from catalog.errors import InvalidValueError
from serving.conversations import ConversationStore, new_conversation_id

T0 = datetime(2026, 11, 15, 12, tzinfo=timezone.utc)
STATE = ConversationState(2, "search", Entities(skills=("python",), types=("video",), max_minutes=20), ("r1", "r2"))


def test_round_trip_and_ownership(tmp_path):
    store = ConversationStore(tmp_path / "a.db", ttl_s=60, max_conversations=10)
    cid = new_conversation_id()
    assert len(cid) == 22 and cid != new_conversation_id()
    store.save(cid, "u1", STATE, now=T0)
    assert store.load(cid, "u1", now=T0 + timedelta(seconds=59)) == STATE
    with pytest.raises(InvalidValueError) as e:
        store.load(cid, "u2", now=T0)  # another mentee's conversation reads as unknown
    assert e.value.field == "conversation_id"
    with pytest.raises(InvalidValueError):
        store.save(cid, "u2", ConversationState(), now=T0)  # and can never be taken over
    assert store.load(cid, "u1", now=T0) == STATE
    with pytest.raises(InvalidValueError):
        store.load("never-issued-0000000", "u1", now=T0)


def test_expiry_and_bound(tmp_path):
    store = ConversationStore(tmp_path / "a.db", ttl_s=60, max_conversations=3)
    cid = new_conversation_id()
    store.save(cid, "u1", STATE, now=T0)
    with pytest.raises(InvalidValueError):
        store.load(cid, "u1", now=T0 + timedelta(seconds=61))
    for n in range(300):  # prunes every few hundred saves: the expired one and the oldest beyond 3
        store.save(f"conversation-{n:06d}", "u1", STATE, now=T0 + timedelta(seconds=1 + n / 1000))
    assert len(store) <= 3 + 256
    store.save("conversation-last00", "u1", STATE, now=T0 + timedelta(seconds=2))
    store._prune(int((T0 + timedelta(seconds=2)).timestamp() * 1e6))
    assert len(store) == 3
    assert store.load("conversation-last00", "u1", now=T0 + timedelta(seconds=2)) == STATE


def test_two_processes_share_conversations_and_forgetting_a_mentee(tmp_path):
    a = ConversationStore(tmp_path / "a.db", ttl_s=60, max_conversations=10)
    b = ConversationStore(tmp_path / "a.db", ttl_s=60, max_conversations=10)  # another worker
    a.save("conversation-one00", "u1", STATE, now=T0)
    assert b.load("conversation-one00", "u1", now=T0) == STATE
    b.save("conversation-one00", "u1", ConversationState(3), now=T0)
    assert a.load("conversation-one00", "u1", now=T0).turn == 3
    a.save("conversation-two00", "u2", STATE, now=T0)
    assert a.forget_user("u1") == 1 and len(b) == 1
