"""RedisRows reads and writes exactly what Feast's SDK reads and writes, on a real redis-server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.redis_rows import RedisRows, redis_rows_for
from features.store import read_online
from features.tables import ENGAGEMENT_PUSH_SOURCE, MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS, TIMESTAMP
from tests.features.conftest import materialised_stores

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def stores(tmp_path_factory, feast_imported, redis_server, world, events):
    return materialised_stores(tmp_path_factory.mktemp("features-redis-rows"), world, events, redis_server.url)


def _client(stores):
    return stores.redis._get_provider().online_store._get_client(stores.redis.config.online_store)


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(TIMESTAMP).groupby("user_id", as_index=False).tail(1).reset_index(drop=True)


def test_only_plain_redis_gets_the_fast_path(stores):
    assert isinstance(redis_rows_for(stores.redis, MENTEE_ENGAGEMENT), RedisRows)
    assert redis_rows_for(stores.sqlite, MENTEE_ENGAGEMENT) is None


def test_reads_equal_get_online_features_for_every_table_and_missing_keys(stores):
    f = stores.frames
    keys = {
        MENTEE_ENGAGEMENT: [*sorted(set(f.mentee_engagement.user_id)), "ghost", "__nobody__"],
        MENTEE_SKILL_STATE: [*sorted(set(zip(f.mentee_skill_state.user_id, f.mentee_skill_state.skill_id))),
                             ("ghost", "sql"), ("u3", "no-such-skill")],
        RESOURCE_STATS: [*sorted(set(f.resource_stats.item_id)), "no-such-item"],
    }
    for spec, ks in keys.items():
        fast = RedisRows(stores.redis, spec).read(ks)
        assert fast == read_online(stores.redis, spec, ks), spec.name
        assert sum(v is not None for row in fast.values() for v in row.values()) > 0  # not trivially empty
        assert len(ks) >= 3
    ghost = RedisRows(stores.redis, MENTEE_ENGAGEMENT).read(["ghost"])["ghost"]
    assert set(ghost) == set(MENTEE_ENGAGEMENT.feature_names) and all(v is None for v in ghost.values())


def test_writes_are_byte_identical_to_feast_push(stores):
    """The same rows pushed through the SDK and written by RedisRows leave the same hash in Redis."""
    rows = _latest(stores.frames.mentee_engagement).head(6).copy()
    # hours apart, with microseconds (the service stamps rows now + 1 µs)
    rows[TIMESTAMP] = stores.hi + pd.to_timedelta(np.arange(1, len(rows) + 1) * 3_600_000_001, unit="us")
    rows.loc[1, "dismiss_rate_30d"] = np.nan  # a missing float, as pandas gives it
    rows.loc[2, "events_30d"] = 123456789012  # a large int64
    fast, client = RedisRows(stores.redis, MENTEE_ENGAGEMENT), _client(stores)
    keys = [fast.key(u) for u in rows.user_id]
    # one hash per mentee holds every mentee view (mentee_status too): compare and clear this view's fields only
    fields = [*fast._fields, fast._ts_field]
    others = [{f: v for f, v in client.hgetall(k).items() if f not in fields} for k in keys]
    assert all(others)  # the other views' fields are there, and must stay
    stores.redis.push(ENGAGEMENT_PUSH_SOURCE, rows)
    by_feast = [client.hmget(k, fields) for k in keys]
    for k in keys:
        client.hdel(k, *fields)
    assert fast.write(rows) == len(rows)
    by_us = [client.hmget(k, fields) for k in keys]
    assert by_us == by_feast
    assert all(v is not None for h in by_us for v in h)
    assert by_us[1][MENTEE_ENGAGEMENT.feature_names.index("dismiss_rate_30d")] == b""  # NaN: an empty Value
    assert [{f: v for f, v in client.hgetall(k).items() if f not in fields} for k in keys] == others


def test_older_rows_are_skipped_like_feast_and_a_write_is_read_back(stores):
    fast = RedisRows(stores.redis, MENTEE_ENGAGEMENT)
    row = _latest(stores.frames.mentee_engagement).tail(1).reset_index(drop=True)
    user = row.user_id[0]
    newer = row.assign(**{TIMESTAMP: stores.hi + pd.Timedelta(days=3), "events_7d": 77})
    assert fast.write(newer) == 1
    got = read_online(stores.redis, MENTEE_ENGAGEMENT, [user])
    assert got[user]["events_7d"] == 77 and got == fast.read([user])
    older = row.assign(**{TIMESTAMP: stores.hi + pd.Timedelta(days=2), "events_7d": 5})
    assert fast.write(older) == 0  # Feast would skip it too: the stored row is newer
    same = newer.assign(events_7d=6)
    assert fast.write(same) == 0  # the same instant is not newer either
    assert read_online(stores.redis, MENTEE_ENGAGEMENT, [user])[user]["events_7d"] == 77
    # two rows of one key in one call: the newer one wins whatever the order
    both = pd.concat([row.assign(**{TIMESTAMP: stores.hi + pd.Timedelta(days=5), "events_7d": 9}),
                      row.assign(**{TIMESTAMP: stores.hi + pd.Timedelta(days=4), "events_7d": 8})], ignore_index=True)
    assert fast.write(both) == 1
    assert fast.read([user])[user]["events_7d"] == 9 == read_online(stores.redis, MENTEE_ENGAGEMENT, [user])[user]["events_7d"]



def test_the_adapter_reads_and_pushes_through_redis_rows_with_the_sdks_answers(stores):
    from serving.features_adapter import OnlineFeatures

    users = [*sorted(set(stores.frames.mentee_engagement.user_id)), "ghost"]
    with OnlineFeatures(lambda: stores.redis, timeout_s=5.0, push_timeout_s=5.0) as online:
        got, status = online.get_mentee_features(users)
        assert status == "ok" and isinstance(online._fast(stores.redis), RedisRows)
        assert got == read_online(stores.redis, MENTEE_ENGAGEMENT, users)
        row = _latest(stores.frames.mentee_engagement).head(1)
        row = row.assign(**{TIMESTAMP: stores.hi + pd.Timedelta(days=30), "completions_30d": 4242})
        assert online.push(ENGAGEMENT_PUSH_SOURCE, row) == "ok"
        after = read_online(stores.redis, MENTEE_ENGAGEMENT, users)
        assert after[row.user_id.iloc[0]]["completions_30d"] == 4242
        assert online.get_mentee_features(users) == (after, "ok")
