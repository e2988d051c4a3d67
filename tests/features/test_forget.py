"""Forgetting a mentee removes their rows from the real Feast online stores (SQLite and Redis), and only theirs."""

from __future__ import annotations


import pytest

from features.forget import forget_online
from features.store import read_online
from features.tables import MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, MENTEE_STATUS
from tests.features.conftest import materialised_stores

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def stores(tmp_path_factory, feast_imported, redis_server, world, events):
    return materialised_stores(tmp_path_factory.mktemp("features-forget"), world, events, redis_server.url)


def _rows(store, frames, user_id):
    """Non-empty feature values of ``user_id`` in both mentee-keyed views."""
    eng = read_online(store, MENTEE_ENGAGEMENT, [user_id])[user_id]
    pairs = [(u, s) for u, s in zip(frames.mentee_skill_state.user_id, frames.mentee_skill_state.skill_id) if u == user_id]
    state = read_online(store, MENTEE_SKILL_STATE, pairs) if pairs else {}
    return sum(v is not None for v in eng.values()) + sum(v is not None for r in state.values() for v in r.values())


def test_forget_removes_the_mentee_from_sqlite_and_redis_only(stores, world):
    users = sorted(set(stores.frames.mentee_skill_state.user_id) & set(stores.frames.mentee_engagement.user_id))
    gone, kept = users[0], users[1]
    for store in (stores.sqlite, stores.redis):
        assert _rows(store, stores.frames, gone) > 0 and _rows(store, stores.frames, kept) > 0  # not trivially empty
    before_kept = {s: read_online(s, MENTEE_ENGAGEMENT, [kept]) for s in (stores.sqlite, stores.redis)}
    # the monitor's status view is one more SQLite table; in Redis it shares the mentee's hash
    with_status = int(any(v is not None for v in read_online(stores.sqlite, MENTEE_STATUS, [gone])[gone].values()))
    n = forget_online(stores.dir, gone, online=stores.url, skill_ids=world.catalog.skills)
    st = stores.frames.mentee_skill_state
    n_skills = st[st.user_id == gone].skill_id.nunique()
    assert n == 2 * (1 + n_skills) + with_status  # one engagement key and one per skill state, in each store
    for store in (stores.sqlite, stores.redis):
        assert not any(v is not None for v in read_online(store, MENTEE_STATUS, [gone])[gone].values())
    for store in (stores.sqlite, stores.redis):
        assert _rows(store, stores.frames, gone) == 0
        assert read_online(store, MENTEE_ENGAGEMENT, [kept]) == before_kept[store]
    assert forget_online(stores.dir, gone, online=stores.url, skill_ids=world.catalog.skills) == 0


def test_forget_without_an_online_store_is_a_no_op(tmp_path):
    assert forget_online(tmp_path, "anyone", online="sqlite", skill_ids=["python"]) == 0


def test_an_unreachable_redis_fails_the_forget_loudly(stores, world):
    with pytest.raises(Exception):
        forget_online(stores.dir, "nobody", online="redis://127.0.0.1:1/0", skill_ids=world.catalog.skills)
