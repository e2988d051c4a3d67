"""Monitoring on the synthetic world: alert quality against the hidden outcomes, and speed.

    .venv/bin/python benchmarks/monitoring.py                    # default world (seed 7), ~2-4 minutes
    .venv/bin/python benchmarks/monitoring.py --mentees 1500 --quick

Quality. The world (``catalog.synth.generate``) labels every mentee completed, dropped,
stalled or active (``catalog/synth/outcomes.py``). Every ``--every`` days the monitor
folds that day's events and evaluates alerts for every mentee who has joined and is
still there; a (mentee, day) is positive when the mentee drops out within the next
``--horizon`` days, or is a mentee who stalls (during the last 60 days). Reported:
precision and recall of "any alert" and of each kind, the base rate, and for each
dropout how many days before leaving the first alert of the ``--horizon`` days before
it came. Inputs the platform would have: goals (mentees.csv), the mentor assignment
(``outcomes.mentor_id`` from the join day; no sessions exist, so the mentor-contact
rule is off) and a mastery series from completions (a running proxy: each completion
moves the skill 30 % of the way to the level taught; the wiring will pass BKT's).

Speed, side by side in the same run: folding events into kept statuses (events/s)
against durable ingestion (``EventLog.append``, batches of 500); the status of one
mentee from its kept state and from its full history; alerts for 10,000 mentees in one
call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.monitoring import (  # noqa: E402
    ALERT_KINDS, FEATURE_NAMES, AtRiskClassifier, MentorContact, MonitorThresholds, StatusBook, evaluate_alerts,
    feature_vector, status_at,
)
from analysis.monitoring.book import event_arrays  # noqa: E402
from analysis.monitoring.inputs import marks_by_pair  # noqa: E402
from catalog.eventlog import EventLog  # noqa: E402
from catalog.synth import SynthConfig, generate  # noqa: E402

DAY_US = 86_400_000_000
ROOT = Path(__file__).resolve().parents[1]
TH = MonitorThresholds(silence_ratio=2)   # sessions are recorded: the mentor-contact rule is on


def _us(col: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds; NaT as int64 min."""
    return pd.to_datetime(col, utc=True).dt.tz_localize(None).to_numpy("datetime64[us]").astype(np.int64)


def mastery_proxy(sw) -> pd.DataFrame:
    """A mastery series from completions: each moves every taught skill 30 % of the way to its level."""
    cat = sw.world.catalog
    ev = sw.events[sw.events.event_type == "complete"]
    items = cat.items.indices(ev.item_id.to_numpy())
    csr = cat.item_skill_levels
    start = {(m.user_id, s.skill_id): s.level / 5 * 0.8 for m in sw.world.mentees.values() for s in m.self_levels}
    cur: dict[tuple[str, str], float] = {}
    rows_u, rows_s, rows_t, rows_m = [], [], [], []
    skill_ids = cat.skill_ids.ids
    for u, i, t in zip(ev.user_id.tolist(), items.tolist(), _us(ev.timestamp).tolist()):
        for j, lvl in zip(csr.indices[csr.indptr[i]:csr.indptr[i + 1]].tolist(), csr.data[csr.indptr[i]:csr.indptr[i + 1]].tolist()):
            key = (u, skill_ids[j])
            m = cur.get(key, start.get(key, 0.0))
            m = m + 0.3 * max(0.0, lvl / 5 - m)
            cur[key] = m
            rows_u.append(u), rows_s.append(key[1]), rows_t.append(t), rows_m.append(m)
    return pd.DataFrame({"user_id": rows_u, "skill_id": rows_s,
                         "timestamp": pd.to_datetime(rows_t, unit="us", utc=True), "mastery": rows_m})


def _inputs(sw):
    """Goals, profile and the mentor (the world's one assignment, from the join day) with the pair's recorded
    sessions: the whole record, which each status reads only up to its own time."""
    out = sw.outcomes.set_index("user_id")
    mentors = sw.world.mentors
    marks = marks_by_pair((s.mentee_id, s.mentor_id, s.started_at, s.ratings.mentee)
                          for s in (sw.sessions.sessions if sw.sessions is not None else ()))
    res = {}
    for u, m in sw.world.mentees.items():
        mid = out.at[u, "mentor_id"]
        contact = None
        if mid:
            mm = mentors[mid]
            contact = MentorContact(mid, out.at[u, "joined_at"].to_pydatetime(), None, mm.skills, mm.name,
                                    *marks.get((u, mid), ((), ())))
        res[u] = {"goals": m.goals, "mentor": contact, "mentee": m}
    return res


def alert_quality(sw, mastery: pd.DataFrame, every: int, horizon: int, th: MonitorThresholds = TH, *,
                  last_day: int | None = None, test_from: int | None = None, replay_only: bool = False) -> dict:
    """Replay the world day by day; score each alert (by id, when first raised) against the outcomes.

    ``last_day`` stops the replay early (tuning sees only its own period); ``test_from`` adds
    the same figures over the alerts raised from that day on (the held-out period).
    """
    out = sw.outcomes.set_index("user_id")
    cfg = sw.config
    joined = (_us(out.joined_at) - cfg.start_us) // DAY_US
    left = np.where(out.left_at.notna(), (_us(out.left_at) - cfg.start_us) // DAY_US, 10**9)
    users = out.index.to_numpy()
    row_of = {u: k for k, u in enumerate(users)}
    dropped = (out.outcome == "dropped").to_numpy()
    stalled = (out.outcome == "stalled").to_numpy()
    inputs = _inputs(sw)
    cat = sw.world.catalog
    main_skill = cat.skill_ids.ids[np.asarray(cat.item_skill_levels.argmax(axis=1)).ravel()]
    book = StatusBook(item_skill=dict(zip(cat.items.ids, main_skill)), thresholds=th)
    u_arr, ts, codes, items, values = event_arrays(sw.events)
    day_of = (ts - cfg.start_us) // DAY_US
    mt = _us(mastery.timestamp)
    m_day = (mt - cfg.start_us) // DAY_US
    mu, ms, mm = mastery.user_id.to_numpy(), mastery.skill_id.to_numpy(), mastery.mastery.to_numpy()
    seen: set[str] = set()
    raised: list[tuple[int, int, str]] = []          # (mentee row, day, kind) of each new alert id
    pairs = pos_pairs = ever_pairs = 0
    feats: list[list[float]] = []
    feat_rows: list[int] = []
    feat_days: list[int] = []
    e = p = 0
    eval_s = 0.0
    day_present: dict[int, tuple[int, int]] = {}      # day -> (present mentees, positives among them)
    for d in range(27, cfg.days if last_day is None else min(cfg.days, last_day), every):
        e2 = int(np.searchsorted(day_of, d, side="right"))
        book._fold_arrays(u_arr[e:e2], ts[e:e2], codes[e:e2], items[e:e2], values[e:e2])
        e = e2
        p2 = int(np.searchsorted(m_day, d, side="right"))
        for j in range(p, p2):
            book.state(mu[j]).fold_mastery(ms[j], int(mt[j]), float(mm[j]))
        p = p2
        at = cfg.start_us + (d + 1) * DAY_US - 1
        present = np.flatnonzero((joined <= d) & (d < left))
        t0 = time.perf_counter()
        statuses = [book.status(users[k], at, **inputs[users[k]]) for k in present]
        alerts = evaluate_alerts(statuses, thresholds=th)
        eval_s += time.perf_counter() - t0
        if (d - 27) % 7 == 0 and not replay_only:       # weekly training rows for the at-risk model
            feats.extend(feature_vector(st, fail_window=TH.fail_window, pass_score=TH.pass_score) for st in statuses)
            feat_rows.extend(present.tolist())
            feat_days.extend([d] * len(present))
        for a in alerts:
            if a.alert_id not in seen:
                seen.add(a.alert_id)
                raised.append((row_of[a.user_id], d, a.kind))
        pairs += len(present)
        npos = int(_positive(present, d, dropped, stalled, left, horizon, cfg.days).sum())
        pos_pairs += npos
        day_present[d] = (len(present), npos)
        ever_pairs += int((dropped[present] | stalled[present]).sum())
    rows = np.array([r[0] for r in raised], dtype=np.int64)
    days = np.array([r[1] for r in raised], dtype=np.int64)
    kinds = np.array([r[2] for r in raised], dtype=object)
    good = _positive(rows, days, dropped, stalled, left, horizon, cfg.days)
    ever = dropped[rows] | stalled[rows]
    if replay_only:
        return {"kinds": kinds, "days": days, "good": good, "day_present": day_present}
    held_out = None
    if test_from is not None:
        t = days >= test_from
        n_t = sum(v[0] for d, v in day_present.items() if d >= test_from)
        p_t = sum(v[1] for d, v in day_present.items() if d >= test_from)
        held_out = {"from_day": test_from, "alerts": int(t.sum()), "base_rate": p_t / max(1, n_t),
                    "precision": float(good[t].mean()) if t.any() else None,
                    "by_kind": {k: {"alerts": int((t & (kinds == k)).sum()),
                                    "precision": float(good[t & (kinds == k)].mean())}
                                for k in ALERT_KINDS if (t & (kinds == k)).any()}}
    by_kind = {}
    for k in ALERT_KINDS:
        sel = kinds == k
        if sel.any():
            by_kind[k] = {"alerts": int(sel.sum()), "precision": float(good[sel].mean()),
                          "precision_ever": float(ever[sel].mean())}
    # Recall: dropouts (who stayed past the first evaluation day) with an alert in the horizon before leaving.
    evaluated = np.flatnonzero(dropped & (left < cfg.days) & (left > 27) & (joined <= left))
    first: dict[int, int] = {}
    caught: dict[str, set[int]] = {k: set() for k in ALERT_KINDS}    # per kind: dropouts it alerted in time
    for r, d, k in zip(rows.tolist(), days.tolist(), kinds.tolist()):
        if dropped[r] and 0 <= left[r] - d <= horizon:
            caught[k].add(r)
            if r not in first:
                first[r] = d
    leads = [int(left[r] - d) for r, d in first.items()]
    for k, v in by_kind.items():
        v["recall_dropouts"] = len(caught[k]) / max(1, len(evaluated))
    if held_out is not None:   # recall over the dropouts who left in the held-out period
        late = set(evaluated[left[evaluated] >= test_from].tolist())
        held_out["dropouts"] = len(late)
        held_out["recall_dropouts"] = len(late & set(first)) / max(1, len(late))
        for k, v in held_out["by_kind"].items():
            v["recall_dropouts"] = len(late & caught[k]) / max(1, len(late))
    cause = out.cause.to_numpy()
    by_cause = {c: {"dropouts": int((cause[evaluated] == c).sum()),
                    "alerted": int(sum(cause[r] == c for r in first))} for c in sorted(set(cause[evaluated]))}
    stall_rows = np.flatnonzero(stalled)
    stall_hit = {r for r, d in zip(rows.tolist(), days.tolist()) if stalled[r] and d >= cfg.days - 60}
    return {
        "alerts": len(raised), "mentee_days": pairs, "base_rate_mentee_days": pos_pairs / max(1, pairs),
        "base_rate_ever": ever_pairs / max(1, pairs),
        "precision": float(good.mean()) if len(good) else None,
        "precision_ever": float(ever.mean()) if len(ever) else None,
        "by_kind": by_kind,
        "dropouts_evaluated": len(evaluated), "dropouts_alerted": len(first),
        "recall_dropouts": len(first) / max(1, len(evaluated)),
        "recall_by_cause": by_cause,
        "recall_stalls": len(stall_hit) / max(1, len(stall_rows)),
        "lead_days_median": statistics.median(leads) if leads else None,
        "lead_days_quartiles": [float(q) for q in np.percentile(leads, [25, 75])] if leads else None,
        "statuses_and_alerts_seconds": eval_s, "held_out": held_out,
        "at_risk_model": risk_model(np.array(feats), np.array(feat_rows), np.array(feat_days),
                                    dropped, stalled, left, horizon, cfg.days),
    }


# Per alert kind, the thresholds tried on the tuning period (level 0 = the defaults).
LEVELS: dict[str, list[dict[str, float]]] = {
    "silence": [dict(silence_days=14, silence_ratio=2), dict(silence_days=14, silence_ratio=3),
                dict(silence_days=21, silence_ratio=3), dict(silence_days=21, silence_ratio=4)],
    "engagement_drop": [dict(engagement_drop_ratio=x) for x in (0.5, 0.35, 0.25, 0.15)],
    "repeated_failures": [dict(fail_count=x) for x in (2, 3, 3, 3)],
    "goal_late": [dict(late_weeks=x) for x in (2, 4, 8, 16)],
    "mentor_no_contact": [dict(mentor_silence_days=x) for x in (30, 45, 60, 90)],
    "pair_low_rating": [dict(pair_rating_floor=x) for x in (2.5, 2.0, 3.0, 3.5)],
}


def tune(sw, mastery: pd.DataFrame, horizon: int, split: int, every: int) -> tuple[MonitorThresholds, dict]:
    """Choose each kind's threshold on the tuning period only: alerts whose label window closes before
    ``split`` (day + horizon < split). Per kind, the level with the best precision there, among levels that
    keep at least a quarter of the default level's alerts (and 20); ties go to the looser level."""
    from dataclasses import replace

    stats: dict[str, list[tuple[int, float]]] = {k: [] for k in LEVELS}
    base = None
    for lvl in range(4):
        th = replace(TH, **{k: v for kind in LEVELS for k, v in LEVELS[kind][lvl].items()})
        r = alert_quality(sw, mastery, every, horizon, th, last_day=split - horizon, replay_only=True)
        n = sum(v[0] for v in r["day_present"].values())
        base = sum(v[1] for v in r["day_present"].values()) / max(1, n)
        for kind in LEVELS:
            sel = r["kinds"] == kind
            stats[kind].append((int(sel.sum()), float(r["good"][sel].mean()) if sel.any() else float("nan")))
    chosen: dict[str, float] = {}
    report: dict[str, Any] = {}
    for kind, rows in stats.items():
        floor = max(20, rows[0][0] // 4)
        ok = [lvl for lvl, (n, p) in enumerate(rows) if n >= floor and p == p]
        best = max(ok, key=lambda lvl: (round(rows[lvl][1], 3), -lvl)) if ok else 0
        chosen.update(LEVELS[kind][best])
        report[kind] = {"levels": [{"thresholds": LEVELS[kind][k], "alerts": n, "precision": p}
                                   for k, (n, p) in enumerate(rows)], "chosen": best}
    tuned = replace(TH, **chosen)
    # Which kinds to notify (webhooks): those whose precision on the tuning period, at the tuned thresholds,
    # beats its base rate; the others stay in the status and the alert list as information.
    r = alert_quality(sw, mastery, every, horizon, tuned, last_day=split - horizon, replay_only=True)
    on_tuning = {k: (int((r["kinds"] == k).sum()), float(r["good"][r["kinds"] == k].mean()))
                 for k in ALERT_KINDS if (r["kinds"] == k).any()}
    notify = sorted(k for k, (n, p) in on_tuning.items() if p > base and n >= 10)
    return tuned, {"tuning_base_rate": base, "split_day": split, "kinds": report, "chosen": chosen,
                   "tuned_on_tuning_period": on_tuning, "notify": notify}


def risk_model(X, rows, days, dropped, stalled, left, horizon: int, n_days: int) -> dict:
    """AtRiskClassifier on weekly status features: fit on the first half of the year, test on the second.

    Two labels: drops out within ``horizon`` days (or stalls), and within 90 days (or stalls).
    """
    half = n_days // 2
    out = {}
    for h in (horizon, 90):
        y = _positive(rows, days, dropped, stalled, left, h, n_days).astype(np.int64)
        out[f"{h} days"] = _fit_eval(X, y, days + h < half, days >= half)   # no training label looks past the split
    return out


def _fit_eval(X, y, train, test) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(set(y[train].tolist())) < 2:
        return {"train_rows": int(train.sum()), "note": "one class only in the training rows"}
    model = AtRiskClassifier(max_iter=200, max_leaf_nodes=7, min_samples_leaf=100, cv=5).fit(
        pd.DataFrame(X[train], columns=list(FEATURE_NAMES)), y[train])
    p = model.predict_proba(pd.DataFrame(X[test], columns=list(FEATURE_NAMES)))[:, 1]
    out = {"train_rows": int(train.sum()), "test_rows": int(test.sum()), "test_base_rate": float(y[test].mean()),
           "auc": float(roc_auc_score(y[test], p)), "ap": float(average_precision_score(y[test], p))}
    for t in (0.3, 0.5):
        flag = p >= t
        out[f"at_{t}"] = {"flagged_share": float(flag.mean()),
                          "precision": float(y[test][flag].mean()) if flag.any() else None,
                          "recall": float(flag[y[test] == 1].mean())}
    return out


def _positive(rows, days, dropped, stalled, left, horizon, n_days):
    """Drops out within ``horizon`` days, or a stalled mentee during the last 60 days."""
    return (dropped[rows] & (left[rows] >= days) & (left[rows] <= days + horizon)) | (
        stalled[rows] & (days >= n_days - 60))


def speed(sw, mastery: pd.DataFrame, reps: int) -> dict:
    res: dict[str, object] = {}
    ev = sw.events
    item_skill = {}
    inputs = _inputs(sw)
    # Folding vs durable ingestion, same events, batches of 500.
    n_ingest = min(len(ev), 50_000)
    part = ev.iloc[:n_ingest]
    with tempfile.TemporaryDirectory() as tmp:
        with EventLog(Path(tmp) / "events.db") as log:
            t0 = time.perf_counter()
            for a in range(0, n_ingest, 500):
                log.append(part.iloc[a:a + 500])
            ingest_s = time.perf_counter() - t0
    book = StatusBook(item_skill=item_skill, thresholds=TH)
    t0 = time.perf_counter()
    for a in range(0, n_ingest, 500):
        book.fold_events(part.iloc[a:a + 500])
    fold_batches_s = time.perf_counter() - t0
    arrays = event_arrays(ev)
    book = StatusBook(item_skill=item_skill, thresholds=TH)
    t0 = time.perf_counter()
    book._fold_arrays(*arrays)
    fold_all_s = time.perf_counter() - t0
    book.fold_mastery(mastery)
    res.update(ingest_events_per_s=n_ingest / ingest_s, fold_batches_events_per_s=n_ingest / fold_batches_s,
               fold_arrays_events_per_s=len(ev) / fold_all_s, fold_events=len(ev))
    # One mentee: from the kept state and from the whole history.
    at = sw.config.end_us
    counts = ev.user_id.value_counts()
    heavy = counts.index[:20].tolist()
    kept, scratch = [], []
    for _ in range(reps):
        for u in heavy:
            t0 = time.perf_counter()
            book.status(u, at, **inputs[u])
            kept.append(time.perf_counter() - t0)
    user_ev = {u: ev[ev.user_id == u] for u in heavy}
    user_m = {u: mastery[mastery.user_id == u] for u in heavy}
    for u in heavy:
        t0 = time.perf_counter()
        status_at(user_ev[u], u, sw.config.end, mastery=user_m[u], thresholds=TH, **inputs[u])
        scratch.append(time.perf_counter() - t0)
    res.update(status_kept_p50_ms=1e3 * float(np.median(kept)), status_kept_p99_ms=1e3 * float(np.percentile(kept, 99)),
               status_history_p50_ms=1e3 * float(np.median(scratch)),
               status_history_max_ms=1e3 * float(np.max(scratch)), heavy_user_events=int(counts.iloc[:20].median()))
    # Alerts for 10,000 mentees in one call (statuses of every mentee, cycled to 10,000).
    users = list(sw.world.mentees)
    statuses = [book.status(u, at, **inputs[u]) for u in users]
    statuses = (statuses * (10_000 // len(statuses) + 1))[:10_000]
    times = []
    for _ in range(max(3, reps // 10)):
        t0 = time.perf_counter()
        alerts = evaluate_alerts(statuses, thresholds=TH)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    [book.status(u, at, **inputs[u]) for u in users]
    per_status = (time.perf_counter() - t0) / len(users)
    res.update(alerts_10k_p50_ms=1e3 * float(np.median(times)), alerts_10k_min_ms=1e3 * float(np.min(times)),
               alerts_10k_count=len(alerts), statuses_10k_ms=1e3 * per_status * 10_000)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mentees", type=int, default=6000)
    ap.add_argument("--every", type=int, default=1, help="evaluate alerts every N days")
    ap.add_argument("--horizon", type=int, default=30, help="days ahead a dropout counts as positive")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="every 7 days, fewer repetitions")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "monitoring.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.every, args.reps = 7, 10
    t0 = time.perf_counter()
    sw = generate(SynthConfig(seed=args.seed, n_mentees=args.mentees))
    mastery = mastery_proxy(sw)
    print(f"world: {len(sw.world.mentees)} mentees, {len(sw.events):,} events, {len(mastery):,} mastery points "
          f"({time.perf_counter() - t0:.1f} s); outcomes {sw.outcomes.outcome.value_counts().to_dict()}")
    split = sw.config.days // 2
    tuned, tuning = tune(sw, mastery, args.horizon, split, max(args.every, 2))
    print(f"tuned on days 27-{split - args.horizon} (base rate {tuning['tuning_base_rate']:.3f}): {tuning['chosen']}")
    for kind, r in tuning["kinds"].items():
        print(f"  {kind}: " + "; ".join(f"{lv['thresholds']} {lv['alerts']} alerts p={lv['precision']:.3f}"
                                        for lv in r["levels"]) + f" -> level {r['chosen']}")
    q_default = alert_quality(sw, mastery, args.every, args.horizon, TH, test_from=split)
    q = alert_quality(sw, mastery, args.every, args.horizon, tuned, test_from=split)
    notify = set(tuning["notify"])
    for r in (q_default, q):
        h = r["held_out"]
        sent = [(v["alerts"], v["precision"]) for k, v in h["by_kind"].items() if k in notify]
        n_sent = sum(n for n, _ in sent)
        h["notified"] = {"kinds": sorted(notify), "alerts": n_sent,
                         "precision": sum(n * p for n, p in sent) / n_sent if n_sent else None}
    print(f"notify (kinds above the tuning base rate at tuned thresholds): {sorted(notify)}; "
          f"on the tuning period: {tuning['tuned_on_tuning_period']}")
    for name, r in (("default thresholds", q_default), ("tuned thresholds", q)):
        h = r["held_out"]
        print(f"  notified kinds only ({name}): {h['notified']['alerts']:,} alerts, precision "
              f"{h['notified']['precision'] or 0:.3f}")
        print(f"held out (days {split}+), {name}: {h['alerts']:,} alerts, precision {h['precision']:.3f} vs base rate "
              f"{h['base_rate']:.3f}, recall {h['recall_dropouts']:.3f} of {h['dropouts']} dropouts; "
              + ", ".join(f"{k} {v['alerts']} p={v['precision']:.3f} r={v['recall_dropouts']:.3f}"
                          for k, v in h["by_kind"].items()))
    print(f"\n{q['alerts']:,} alerts (distinct ids). Precision (drops out within {args.horizon} days, or stalls): "
          f"{q['precision']:.3f} against a base rate of {q['base_rate_mentee_days']:.3f} per mentee-day; "
          f"precision 'drops out or stalls at all' {q['precision_ever']:.3f} (base rate {q['base_rate_ever']:.3f})")
    print("| kind | alerts | precision (horizon) | precision (ever) |\n| --- | --- | --- | --- |")
    for k, v in q["by_kind"].items():
        print(f"| {k} | {v['alerts']:,} | {v['precision']:.3f} | {v['precision_ever']:.3f} |")
    print(f"recall: {q['dropouts_alerted']} of {q['dropouts_evaluated']} dropouts alerted in the {args.horizon} days "
          f"before leaving ({q['recall_dropouts']:.3f}), lead days median {q['lead_days_median']} "
          f"(quartiles {q['lead_days_quartiles']}); stalls alerted in their last 60 days {q['recall_stalls']:.3f}")
    print("recall by cause: " + ", ".join(f"{c} {v['alerted']}/{v['dropouts']}" for c, v in q["recall_by_cause"].items()))
    for label, r in q["at_risk_model"].items():
        if "auc" not in r:
            print(f"at-risk model ({label}): {r}")
            continue
        print(f"at-risk model, label '{label}' (fit: first half-year, {r['train_rows']:,} weekly rows; test: second "
              f"half, {r['test_rows']:,} rows, base rate {r['test_base_rate']:.3f}): AUC {r['auc']:.3f}, AP {r['ap']:.3f}; "
              + "; ".join(f"p >= {t}: flags {r[f'at_{t}']['flagged_share']:.3f}, precision "
                          f"{r[f'at_{t}']['precision'] or 0:.3f}, recall {r[f'at_{t}']['recall']:.3f}" for t in (0.3, 0.5)))
    s = speed(sw, mastery, args.reps)
    print("\n| speed | measured |\n| --- | --- |")
    for k, v in s.items():
        print(f"| {k} | {v:,.3f} |" if isinstance(v, float) else f"| {k} | {v:,} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"config": vars(args) | {"json": str(args.json)}, "quality": q,
                                     "quality_default_thresholds": q_default, "tuning": tuning, "speed": s},
                                    indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
