"""The console's analytics in-process: duckdb tables equal counts taken straight from the log, refreshed
incrementally and restarted from their Parquet snapshot, on the SQLite log and on the PostgreSQL one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.eventlog import EventLog
from serving.analytics import content, programme
from serving.analytics.store import AnalyticsStore


def _events(world, as_of, n_days: int = 20, tag: str = "a"):
    items = world.catalog.items.ids.tolist()
    rows = []
    for d in range(n_days):
        for k, u in enumerate(sorted(world.mentees)):
            item = items[(d + k) % len(items)]
            t = as_of - timedelta(days=n_days - d, hours=k)
            for j, kind in enumerate(("impression", "start", "complete")[: 1 + (d + k) % 3]):
                rows.append({"event_id": f"{tag}{d}-{u}-{kind}", "user_id": u, "item_id": item, "event_type": kind,
                             "timestamp": t + timedelta(minutes=j)})
            if d % 4 == 0:
                rows.append({"event_id": f"{tag}{d}-{u}-assess", "user_id": u, "item_id": item, "event_type": "assess",
                             "value": 40.0 + 10 * (d % 5), "timestamp": t + timedelta(minutes=5)})
    return rows


def _pairs(rows, kind, min_value=None):
    return len({(r["user_id"], r["item_id"]) for r in rows if r["event_type"] == kind
                and (min_value is None or r.get("value", 0) >= min_value)})


def _check_store(store, rows):
    store.refresh()
    funnel = programme.funnel(store)
    assert funnel.column("pairs") == [_pairs(rows, "impression"), _pairs(rows, "start"), _pairs(rows, "complete"),
                                      _pairs(rows, "assess", programme.PASS_SCORE)]
    weekly = programme.active_weekly(store)
    assert sum(weekly.column("events")) == sum(r["event_type"] != "impression" for r in rows)


def _logged_console(world, as_of, tmp_path):
    """A log holding `_events` and a factory of consoles over it sharing one snapshot folder: each call is a
    (re)started console, so a test can compare a restart with the first one."""
    from types import SimpleNamespace

    from serving.analytics.console import ConsoleData

    log = EventLog(tmp_path / "events.db")
    log.append(_events(world, as_of))
    report = SimpleNamespace(items=[], n_active=int(world.catalog.active.sum()), threshold=0.5)

    def console():
        return ConsoleData(lambda: world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of,
                           stale=lambda: report, floor=0.05, threshold=0.5, snapshot_dir=tmp_path / "console")
    return log, console


def test_tables_count_what_the_log_holds_and_follow_appends(tiny_world, as_of, tmp_path):
    log = EventLog(tmp_path / "events.db")
    first = _events(tiny_world, as_of)
    log.append(first)
    store = AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=lambda: {"u1": "m1"}, clock=lambda: as_of)
    _check_store(store, first)
    v1 = store.version
    more = _events(tiny_world, as_of, n_days=3, tag="b")
    log.append(more)
    _check_store(store, first + more)  # only the new events were read
    assert store.version == v1 + len(more)
    load = programme.mentor_load(store)
    assert dict(zip(load.column("mentor_id"), load.column("mentees")))["m1"] == 1
    hist = content.freshness_histogram(store)
    assert sum(hist.column("resources")) == int(tiny_world.catalog.active.sum())
    log.close()


def test_cohort_intervals_and_claims():
    lo, hi = programme.wilson(30, 100)
    assert 0.21 < lo < 0.22 and 0.39 < hi < 0.40
    assert programme.wilson(0, 0) != programme.wilson(0, 0)  # nan: no interval without mentees


def test_a_restart_starts_from_the_snapshot_unless_the_log_changed_under_it(tiny_world, as_of, tmp_path):
    log = EventLog(tmp_path / "events.db")
    first = _events(tiny_world, as_of)
    log.append(first)

    def store():
        return AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of,
                              snapshot_dir=tmp_path / "console")
    a = store()
    a.refresh()
    assert a.save_snapshot(every=1) and not a.save_snapshot(every=1)  # nothing new: no second write
    more = _events(tiny_world, as_of, n_days=2, tag="b")
    log.append(more)
    b = store()
    assert b.load_snapshot() and b.version == len(first)  # the copy up to the snapshot, then the log
    _check_store(b, first + more)
    assert b.save_snapshot(every=1)
    gone = sorted(tiny_world.mentees)[0]
    log.forget_user(gone)  # the log no longer holds what the snapshot copied: read it again
    kept = [r for r in first + more if r["user_id"] != gone]
    c = store()
    assert not c.load_snapshot()
    _check_store(c, kept)
    b.refresh()  # a running copy notices the deletion too
    _check_store(b, kept)
    log.close()


@pytest.mark.integration
def test_the_postgresql_log_gives_the_same_tables(tiny_world, as_of, tmp_path, pg_url):
    from catalog.pg_eventlog import PgEventLog

    rows = _events(tiny_world, as_of)
    with PgEventLog(pg_url) as pg:
        pg.append(rows)
        store = AnalyticsStore(tiny_world, tmp_path / "none.db", pairs=dict, clock=lambda: as_of, fetch=pg._fetch,
                               snapshot_dir=tmp_path / "console")
        _check_store(store, rows)
        assert store.save_snapshot(every=1)
        again = AnalyticsStore(tiny_world, tmp_path / "none.db", pairs=dict, clock=lambda: as_of, fetch=pg._fetch,
                               snapshot_dir=tmp_path / "console")
        assert again.load_snapshot()
        _check_store(store, rows)


def test_a_restarted_console_shows_its_saved_tables_before_any_build(tiny_world, as_of, tmp_path):
    from serving.analytics.console import CONTENT, PROGRAMME

    log, console = _logged_console(tiny_world, as_of, tmp_path)
    first = console()
    assert first.rebuild() and not first.rebuild()  # nothing changed: no second build
    again = console()  # no thread started, nothing built: the saved set answers
    names = [n for n in PROGRAMME + CONTENT if n != "at-risk"]
    assert all(again.content(n).rows == first.content(n).rows for n in names)
    assert again.programme("at-risk").rows == [] and "Monitoring is off" in again.programme("at-risk").notes
    more = _events(tiny_world, as_of, n_days=1, tag="c")
    log.append(more)
    assert again.rebuild()  # the snapshot, then the new events
    counted = sum(again.programme("active-weekly").column("events"))
    assert counted == sum(first.programme("active-weekly").column("events")) + sum(
        r["event_type"] != "impression" for r in more)
    log.close()
    for f in tmp_path.glob("events.db*"):  # another world's log under the same path
        f.unlink()
    other = EventLog(tmp_path / "events.db")
    other.append(_events(tiny_world, as_of, n_days=3, tag="z"))
    assert console().built_at is None  # the saved tables are not shown over a log they were not built from
    other.close()


def test_people_tables_do_not_wait_for_a_monitor_still_opening(tiny_world, as_of, tmp_path):
    """Issue #20: the programme page waited for the monitor's first fold of the whole log (10-25 s on a first
    start). While it opens, the at-risk and talking-points tables answer at once and say so; once it is open,
    the next read (a new stamp: no 30 s wait) shows its alerts."""
    from types import SimpleNamespace

    from serving.analytics.people import PeopleAnalytics

    log = EventLog(tmp_path / "events.db")
    log.append(_events(tiny_world, as_of))
    store = AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of)
    state = {"opening": True}
    alert = {"user_id": "u1", "mentor_id": "m1", "kind": "inactive", "severity": 2, "reason": "quiet",
             "intervention": {"kind": "check-in"}}

    def monitor():
        assert not state["opening"], "a people table waited for the monitor while it was opening"
        return SimpleNamespace(alerts=lambda now, limit: {"alerts": [alert]},
                               status=lambda u, now: {"assessments": {"struggles": []}})
    people = PeopleAnalytics(store, monitor, opening=lambda: state["opening"])
    waiting = people.at_risk()
    assert waiting.rows == [] and "still starting" in waiting.notes
    assert "still starting" in people.talking_points({"u1"}).notes
    before = people.stamp()
    state["opening"] = False
    assert people.stamp() != before  # pages cached under the old stamp are not shown again
    assert people.at_risk().rows == [["u1", "m1", "inactive", 2, "quiet", "check-in"]]
    log.close()


def test_the_first_copy_made_by_a_child_process_equals_reading_the_log_here(tiny_world, as_of, tmp_path):
    """Issue #20: a first start copied the whole log in the service's process (seconds of its GIL, the
    programme page waiting 7-15 s). The child process's copy (serving.analytics.logcopy) must hold exactly
    what reading the log here holds, be taken as the snapshot, and later appends must follow it."""
    log = EventLog(tmp_path / "events.db")
    rows = _events(tiny_world, as_of)
    log.append(rows)
    here = AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of)
    here.refresh()
    apart = AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of,
                           snapshot_dir=tmp_path / "console")
    assert apart.copy_apart() and (tmp_path / "console" / "events.json").exists()
    assert (apart.version, apart.rows) == (here.version, here.rows) and apart.rows == len(rows)
    everything = "SELECT * FROM ev ORDER BY seq"
    assert apart.sql(everything).equals(here.sql(everything))
    assert not apart.copy_apart()  # rows already held: nothing to copy
    more = _events(tiny_world, as_of, n_days=2, tag="d")
    log.append(more)
    _check_store(apart, rows + more)  # only the events after the copy are read here
    log.close()
    (tmp_path / "console" / "events.json").unlink()
    missing = AnalyticsStore(tiny_world, tmp_path / "nope.db", pairs=dict, clock=lambda: as_of,
                             snapshot_dir=tmp_path / "c2")
    assert not missing.copy_apart()  # no log: nothing to copy, the caller reads (nothing) here


def test_a_copy_started_ahead_is_the_one_the_first_build_waits_for(tiny_world, as_of, tmp_path, monkeypatch):
    """The service starts the copy before it loads its model (serving.routes.analytics.prefetch); the console's
    first build then takes that copy instead of starting another, and no copy starts over a snapshot."""
    from serving.analytics import store as store_mod

    log = EventLog(tmp_path / "events.db")
    log.append(_events(tiny_world, as_of))
    log.close()
    assert store_mod.start_log_copy(tmp_path / "events.db", tmp_path / "console")
    assert not store_mod.start_log_copy(tmp_path / "events.db", tmp_path / "console")  # one at a time
    monkeypatch.setattr(store_mod, "_spawn", lambda *a: pytest.fail("a second copy was started"))
    st = AnalyticsStore(tiny_world, tmp_path / "events.db", pairs=dict, clock=lambda: as_of,
                        snapshot_dir=tmp_path / "console")
    assert st.copy_apart() and st.rows == len(_events(tiny_world, as_of))
    assert not store_mod.start_log_copy(tmp_path / "events.db", tmp_path / "console")  # a snapshot is there


def test_a_table_pending_only_while_the_first_build_has_not_made_it(tiny_world, as_of, tmp_path):
    """The content page shows its stale section as pending (not waiting 5-7 s for every mentee's ranking)
    only while the first build has not made the table; saved or built, it is shown."""
    log, console = _logged_console(tiny_world, as_of, tmp_path)
    first = console()
    assert first.pending("stale") and first.pending("funnel")
    first.rebuild()
    assert not first.pending("stale") and not first.pending("funnel")
    assert not console().pending("stale")  # a restart shows the saved set
    log.close()
