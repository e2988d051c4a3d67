"""DELETE /mentees/{id} reaches the Feast online store: the mentee's rows are gone, everyone else's stay.

Real Feast over the served world's own events (SQLite online store in the data dir, as
``skillpath features`` builds it); the Redis side of the same code is covered in
tests/features/test_forget.py against a real redis-server.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_delete_mentee_removes_their_online_feature_rows(client, service_env):
    from catalog.eventlog import EventLog
    from features.store import read_online
    from features.tables import MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE
    from training.feature_store import apply, materialize, open_store, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    root = service_env.root
    with EventLog(root / "events.db") as log:
        events = log.read()
    frames = compute_feature_frames(events, service_env.world)
    write_feature_frames(frames, root)
    lo, hi = tables_time_range(root)
    store = open_store(root, online="sqlite")
    apply(store)
    materialize(store, lo, hi)
    st = frames.mentee_skill_state
    users = sorted(set(st.user_id) & set(frames.mentee_engagement.user_id))
    gone, kept = users[0], users[-1]
    pairs = sorted(set(zip(st.user_id[st.user_id == gone], st.skill_id[st.user_id == gone])))
    assert read_online(store, MENTEE_ENGAGEMENT, [gone])[gone]["events_30d"] is not None  # there to forget
    kept_before = read_online(store, MENTEE_ENGAGEMENT, [kept])

    r = client.delete(f"/mentees/{gone}")
    assert r.status_code == 200, r.text
    status = frames.mentee_status
    n_status = 0 if status is None else int((status.user_id == gone).any())  # the monitor's status view
    assert r.json()["removed"]["online_store"] == 1 + len(pairs) + n_status

    after = open_store(root, online="sqlite")
    assert all(v is None for v in read_online(after, MENTEE_ENGAGEMENT, [gone])[gone].values())
    assert all(v is None for row in read_online(after, MENTEE_SKILL_STATE, pairs).values() for v in row.values())
    assert read_online(after, MENTEE_ENGAGEMENT, [kept]) == kept_before
