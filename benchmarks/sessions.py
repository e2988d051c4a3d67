"""Mentoring sessions: pair-health AUC, skill and action-item extraction, analysis time per session.

    .venv/bin/python benchmarks/sessions.py                      # seeds 7 and 11, the default world
    .venv/bin/python benchmarks/sessions.py --seeds 7 11 13 --baseline main   # timing side by side with main
    .venv/bin/python benchmarks/sessions.py --seeds 3 --json /tmp/dev.json

Four measurements, printed as markdown tables (benchmarks/sessions.md has the latest):

1. **Pair health** on the synthetic world (``catalog.synth.generate``): AUC of
   ``assess_pairs`` scores against the hidden good/poor label, next to a ratings-only
   baseline (the mean of every rating the pair has so far), as a monitoring job would see
   the pairs: every 30 days back from the world's end, a pair is *active* if it met in the
   45 days before; each pair is scored at the last snapshot it was active with at least two
   sessions behind it (public facts only; the label is read only to score). Seed 3 was the
   development world; 7 and 11 were not looked at while the rules were written.
2. **Skill extraction** precision/recall on ``benchmarks/data/skill_mentions.jsonl``.
3. **Action items** precision/recall on ``benchmarks/data/action_items.jsonl``.
4. **Analysis time** of ``analyse_session`` on 2,000-word transcripts (synthetic sessions
   joined, and the labelled sentences shuffled into turns); with ``--baseline REF``, the
   ``analysis/`` package at that git ref side by side in the same process (alternating, its
   analyses compared field by field); with ``--package-vader``, ``vaderSentiment``'s own
   analyser; warm (the vocabulary's memos filled by other transcripts) and cold (a fresh
   vocabulary); CPU time (``time.thread_time``) next to wall time, as the machines are
   shared; and each step's own time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

import analysis.sessions.analyse as analyse_mod  # noqa: E402
from analysis.sessions import analyse_session, analyse_sessions, assess_pairs, is_action_item  # noqa: E402
from analysis.sessions.actions import action_kind  # noqa: E402
from analysis.sessions.analyse import mentions_by_sentence  # noqa: E402
from analysis.sessions.transcript import parse_transcript, sentences  # noqa: E402
from analysis.vocabulary import SkillVocabulary  # noqa: E402
from catalog.sessions import Session  # noqa: E402
from catalog.synth import SynthConfig, generate  # noqa: E402
from catalog.synth.skills_data import build_skills, skill_specs  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
SNAPSHOT_DAYS, ACTIVE_DAYS, MIN_SESSIONS = 30, 45, 2
SIGNALS = ("cadence", "ratings", "sentiment", "engagement", "follow_through", "progress", "duration")


def auc(scores, labels) -> float:
    """Mann-Whitney AUC, ties counted half."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    r = rankdata(s)
    n1, n0 = int(y.sum()), int((~y).sum())
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pair_health_bench(seed: int) -> dict:
    t0 = time.perf_counter()
    sw = generate(SynthConfig(seed=seed))
    t_gen = time.perf_counter() - t0
    cat, ss = sw.world.catalog, sw.sessions
    vocab = SkillVocabulary(cat.skills.values())
    t0 = time.perf_counter()
    analyses = analyse_sessions(ss.sessions, vocabulary=vocab, mentors=sw.world.mentors)
    t_analyse = time.perf_counter() - t0
    by_pair: dict[tuple[str, str], list[Session]] = defaultdict(list)
    for s in ss.sessions:
        by_pair[s.pair].append(s)
    end = sw.config.end
    snaps = [end - timedelta(days=SNAPSHOT_DAYS * k) for k in range(sw.config.days // SNAPSHOT_DAYS + 1)]
    when = {}
    for pair, group in by_pair.items():
        for snap in snaps:  # latest first
            past = [s for s in group if s.started_at <= snap]
            if len(past) >= MIN_SESSIONS and (snap - past[-1].started_at).days <= ACTIVE_DAYS:
                when[pair] = snap
                break
    t0 = time.perf_counter()
    health = {}
    for snap in sorted(set(when.values())):
        pairs = {p for p, t in when.items() if t == snap}
        group = [s for p in pairs for s in by_pair[p]]
        health.update(assess_pairs(group, vocabulary=vocab, now=snap, events=sw.events, catalog=cat,
                                   mentors=sw.world.mentors, analyses=analyses))
    t_assess = time.perf_counter() - t0
    quality = ss.pairs.set_index(["mentor_id", "mentee_id"])["quality"]
    keys = sorted(when)
    y = [quality[k] == "good" for k in keys]

    def rating_mean(k):
        r = [x for s in by_pair[k] if s.started_at <= when[k] for x in (s.ratings.mentee, s.ratings.mentor)
             if x is not None]
        return float(np.mean(r)) if r else 3.0

    n_sessions = {k: health[k].sessions for k in keys}
    buckets = {}
    for name, lo, hi in (("2-3 sessions", 2, 3), ("4-6 sessions", 4, 6), ("7+ sessions", 7, 10**6)):
        ks = [k for k in keys if lo <= n_sessions[k] <= hi]
        yy = [quality[k] == "good" for k in ks]
        if 0 < sum(yy) < len(yy):
            buckets[name] = {"pairs": len(ks), "health": auc([health[k].score for k in ks], yy),
                             "ratings": auc([rating_mean(k) for k in ks], yy)}
    at_end = assess_pairs(ss.sessions, vocabulary=vocab, now=end, events=sw.events, catalog=cat,
                          mentors=sw.world.mentors, analyses=analyses)
    end_keys = sorted(at_end)
    y_end = [quality[k] == "good" for k in end_keys]
    return {
        "seed": seed, "pairs": len(by_pair), "sessions": len(ss.sessions), "evaluated": len(keys),
        "good_share": float(np.mean(y)), "health_auc": auc([health[k].score for k in keys], y),
        "ratings_auc": auc([rating_mean(k) for k in keys], y),
        "signals_auc": {n: auc([0.5 if (v := health[k].signal(n).score) is None else v for k in keys], y)
                        for n in SIGNALS},
        "by_history": buckets,
        # per evaluated pair: each signal's score (None when missing) and the hidden label, for weight tuning
        "signal_rows": [[health[k].signal(n).score for n in SIGNALS] + [bool(quality[k] == "good")] for k in keys],
        "at_end_all_pairs": {"pairs": len(end_keys), "health": auc([at_end[k].score for k in end_keys], y_end)},
        "seconds": {"generate": t_gen, "analyse_sessions": t_analyse, "assess_pairs": t_assess},
    }


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "tp": tp, "fp": fp, "fn": fn}


def skills_bench(vocab: SkillVocabulary) -> dict:
    out = {}
    rows = _rows("skill_mentions.jsonl")
    for split in ("dev", "test"):
        part = [r for r in rows if r["split"] == split]
        for fuzzy in (True, False):
            tp = fp = fn = 0
            for r in part:
                got, want = set(vocab.skills_in(r["text"], fuzzy=fuzzy)), set(r["skills"])
                tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
            out[f"{split}{'' if fuzzy else '_exact'}"] = {"sentences": len(part), **_pr(tp, fp, fn)}
    return out


def actions_bench() -> dict:
    out = {}
    rows = _rows("action_items.jsonl")
    for split in ("dev", "test"):
        part = [r for r in rows if r["split"] == split]
        tp = sum(is_action_item(r["text"]) and r["action_item"] for r in part)
        fp = sum(is_action_item(r["text"]) and not r["action_item"] for r in part)
        fn = sum(not is_action_item(r["text"]) and r["action_item"] for r in part)
        out[split] = {"sentences": len(part), "positives": sum(r["action_item"] for r in part), **_pr(tp, fp, fn)}
    return out


def _long_transcripts(seed: int, n: int) -> dict[str, list[str]]:
    """Two kinds of 2,000-word transcripts: synthetic sessions joined, and labelled sentences in turns."""
    sw = generate(SynthConfig(seed=seed, n_mentees=1200, n_items=800, n_mentors=40, days=200))
    texts = [s.transcript for s in sw.sessions.sessions if s.transcript and s.transcript.startswith("Mentor: ")]
    rng = random.Random(seed)
    synth, labelled = [], []
    for _ in range(n):
        parts, count = [], 0
        while count < 2000:
            t = rng.choice(texts)
            parts.append(t)
            count += len(t.split())
        synth.append("\n".join(parts))
    sents = [r["text"] for r in _rows("skill_mentions.jsonl") + _rows("action_items.jsonl")]
    for _ in range(n):
        lines, count = [], 0
        while count < 2000:
            turn = " ".join(rng.choice(sents) for _ in range(rng.randint(1, 5)))
            lines.append(("Mentor: " if len(lines) % 2 == 0 else "Mentee: ") + turn)
            count += len(turn.split())
        labelled.append("\n".join(lines))
    return {"synthetic": synth, "labelled sentences": labelled}


def _time_each(texts: list[str], vocab: SkillVocabulary, fn=None) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of one ``analyse_session`` (or ``fn``) per transcript."""
    fn = fn or analyse_session
    out = []
    for k, text in enumerate(texts):
        s = Session(f"b{k}", "m1", "u1", datetime(2026, 1, 1, tzinfo=timezone.utc), 60, "video", transcript=text)
        w0, c0 = time.perf_counter(), time.thread_time()
        fn(s, vocabulary=vocab)
        out.append((time.perf_counter() - w0, time.thread_time() - c0))
    return out


class _PackageVader:
    """vaderSentiment's own analyser behind the interface analyse_session uses (the baseline)."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        self._a = SentimentIntensityAnalyzer()

    def compound(self, text: str) -> float:
        return self._a.polarity_scores(text)["compound"]

    def compounds(self, texts: list[str]) -> list[float]:
        return [self._a.polarity_scores(t)["compound"] for t in texts]


def load_baseline(ref: str):
    """``analyse_session`` and ``SkillVocabulary`` of the ``analysis`` package at git ``ref``, beside the current one.

    The package at ``ref`` is extracted to a temporary directory and imported under the same
    names, then moved out of ``sys.modules`` so the current package is restored: both run in
    one process, on the same transcripts, alternately (only ``analysis/`` is taken from ``ref``).
    """
    import importlib
    import subprocess
    import sys
    import tempfile

    tmp = tempfile.mkdtemp(prefix="sessions-baseline-")
    root = Path(__file__).resolve().parent.parent
    tar = subprocess.run(["git", "-C", str(root), "archive", ref, "analysis"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=tar, check=True)
    ours = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "analysis" or k.startswith("analysis.")}
    sys.path.insert(0, tmp)
    try:
        old_analyse = importlib.import_module("analysis.sessions.analyse")
        old_vocab = importlib.import_module("analysis.vocabulary")
        assert old_analyse.__file__.startswith(tmp)
    finally:
        sys.path.remove(tmp)
        for k in [k for k in sys.modules if k == "analysis" or k.startswith("analysis.")]:
            del sys.modules[k]
        sys.modules.update(ours)
    return old_analyse.analyse_session, old_vocab.SkillVocabulary


def speed_bench(seed: int, n: int, rounds: int = 5, baseline: str | None = None, package_vader: bool = False) -> dict:
    """Per kind of transcript: CPU and wall time of ``analyse_session``, and of ``baseline``'s, alternated.

    Each measured transcript is analysed once per round and implementation; ``ms_cpu_p50`` is the
    median over transcripts of each one's median CPU time over the rounds, ``ms_best_p50`` the median
    of each one's fastest wall time (the least disturbed by other processes on a shared machine).
    With ``baseline`` (a git ref) the analyses of both are also compared, field by field.
    """
    skills = build_skills(skill_specs(), np.random.default_rng(0))
    kinds = _long_transcripts(seed, 2 * n)
    out: dict = {"load_average": os.getloadavg()}
    impls = {"current": (analyse_session, SkillVocabulary)}
    if baseline:
        impls["baseline"] = load_baseline(baseline)
        out["baseline_ref"] = baseline
    fast = analyse_mod._vader
    for kind, texts in kinds.items():
        warm_texts, measured = texts[:n], texts[n:]
        sessions = [Session(f"b{k}", "m1", "u1", datetime(2026, 1, 1, tzinfo=timezone.utc), 60, "video", transcript=t)
                    for k, t in enumerate(measured)]
        vocabs = {}
        for name, (fn, cls) in impls.items():
            vocabs[name] = cls(skills)
            for t in warm_texts:  # fills the vocabulary's (and VADER's) memos with other transcripts' words
                fn(replace(sessions[0], transcript=t), vocabulary=vocabs[name])
        cold = [w for w, _ in _time_each(measured[:5], SkillVocabulary(skills))]
        same = None
        if baseline:
            same = sum(impls["current"][0](s, vocabulary=vocabs["current"]).to_dict()
                       == impls["baseline"][0](s, vocabulary=vocabs["baseline"]).to_dict() for s in sessions)
        runs: dict[str, list[list[tuple[float, float]]]] = {name: [] for name in impls}
        for rnd in range(rounds):  # alternate transcript by transcript, so that both see the same machine load
            for name in impls:
                runs[name].append([])
            for k, text in enumerate(measured):
                order = list(impls.items())
                if (k + rnd) % 2:  # who goes first alternates: the second finds the text in cache
                    order.reverse()
                for name, (fn, _cls) in order:
                    runs[name][-1].extend(_time_each([text], vocabs[name], fn))
        if package_vader:
            runs["package_vader"] = []
            for _ in range(rounds):
                analyse_mod._vader = _PackageVader()
                try:
                    runs["package_vader"].append(_time_each(measured, vocabs["current"]))
                finally:
                    analyse_mod._vader = fast

        def stats(name: str) -> dict[str, float]:
            wall = [w for r in runs[name] for w, _ in r]
            cpu = [statistics.median(r[k][1] for r in runs[name]) for k in range(len(measured))]
            best = [min(r[k][0] for r in runs[name]) for k in range(len(measured))]
            cpu_best = [min(r[k][1] for r in runs[name]) for k in range(len(measured))]
            return {"ms_p50": statistics.median(wall) * 1000, "ms_p90": float(np.percentile(wall, 90)) * 1000,
                    "ms_cpu_p50": statistics.median(cpu) * 1000, "ms_best_p50": statistics.median(best) * 1000,
                    "ms_cpu_best_p50": statistics.median(cpu_best) * 1000}

        out[kind] = {"words_median": statistics.median(len(t.split()) for t in measured), "transcripts": len(measured),
                     "rounds": rounds, **stats("current"), "ms_p50_cold": statistics.median(cold) * 1000}
        if baseline:
            b = stats("baseline")
            out[kind]["baseline"] = b
            out[kind]["identical_analyses"] = f"{same}/{len(sessions)}"
            out[kind]["speedup_cpu_vs_baseline"] = b["ms_cpu_p50"] / out[kind]["ms_cpu_p50"]
            out[kind]["speedup_cpu_best_vs_baseline"] = b["ms_cpu_best_p50"] / out[kind]["ms_cpu_best_p50"]
        if package_vader:
            out[kind]["with_package_vader"] = stats("package_vader")
    return out


def components_bench(seed: int, n: int = 3, repeat: int = 20) -> dict[str, float]:
    """Where one analysis spends its time: each step alone, CPU time of the fastest of ``repeat`` runs,
    median over transcripts."""
    skills = build_skills(skill_specs(), np.random.default_rng(0))
    vocab = SkillVocabulary(skills)
    texts = _long_transcripts(seed, n + 5)["synthetic"]
    _time_each(texts[n:], vocab)

    def best(fn) -> float:
        return min(_timed(fn) for _ in range(repeat)) * 1000

    rows = defaultdict(list)
    for k, text in enumerate(texts[:n]):
        s = Session(f"c{k}", "m1", "u1", datetime(2026, 1, 1, tzinfo=timezone.utc), 60, "video", transcript=text)
        turns = parse_transcript(text).turns
        sents = [x for t in turns for x in sentences(t.text)]
        rows["parse transcript"].append(best(lambda: parse_transcript(text)))
        rows["cut sentences"].append(best(lambda: [x for t in turns for x in sentences(t.text)]))
        rows["skill mentions (one scan)"].append(best(lambda: mentions_by_sentence(vocab, sents)))
        rows["VADER, every sentence"].append(best(lambda: analyse_mod._vader.compounds(sents)))
        rows["action rules, every sentence"].append(best(lambda: [action_kind(x) for x in sents]))
        rows["analyse_session, all of it"].append(best(lambda: analyse_session(s, vocabulary=vocab)))
    return {name: statistics.median(v) for name, v in rows.items()}


def _timed(fn) -> float:
    """CPU seconds of ``fn()``: on a shared machine a run of a few ms is often descheduled midway."""
    t0 = time.thread_time()
    fn()
    return time.thread_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    ap.add_argument("--transcripts", type=int, default=20, help="2,000-word transcripts timed per kind")
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "sessions.json")
    ap.add_argument("--skip-health", action="store_true")
    ap.add_argument("--skip-speed", action="store_true", help="no timing (pair health and extraction only)")
    ap.add_argument("--rounds", type=int, default=5, help="times each transcript is analysed per implementation")
    ap.add_argument("--baseline", default=None,
                    help="git ref whose analysis/ package is timed side by side (and compared) in the same run")
    ap.add_argument("--package-vader", action="store_true", help="also time vaderSentiment's own analyser")
    args = ap.parse_args()
    vocab = SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))
    result: dict = {"skills": skills_bench(vocab), "actions": actions_bench()}
    print("\n## Skill extraction (micro precision/recall over sentence-skill pairs)\n")
    print("| split | sentences | fuzzy | precision | recall | tp | fp | fn |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, r in result["skills"].items():
        print(f"| {key.split('_')[0]} | {r['sentences']} | {'no' if key.endswith('exact') else 'yes'} | "
              f"{r['precision']:.3f} | {r['recall']:.3f} | {r['tp']} | {r['fp']} | {r['fn']} |")
    print("\n## Action items\n\n| split | sentences | positives | precision | recall | tp | fp | fn |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, r in result["actions"].items():
        print(f"| {key} | {r['sentences']} | {r['positives']} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['tp']} | {r['fp']} | {r['fn']} |")
    if not args.skip_speed:
        result["speed"] = speed_bench(args.seeds[0], args.transcripts, rounds=args.rounds, baseline=args.baseline,
                                      package_vader=args.package_vader)
        load = ", ".join(f"{x:.1f}" for x in result["speed"]["load_average"])
        base = f" vs `{args.baseline}`" if args.baseline else ""
        print(f"\n## Analysis time per 2,000-word transcript (ms; load average {load} on this machine){base}\n\n"
              "| transcripts | words | CPU p50 | CPU best-of-rounds p50 | wall best-of-rounds p50 | wall p50 | wall p90 | "
              "cold p50 | baseline CPU p50 | baseline CPU best p50 | CPU speed-up (p50 / best) | identical analyses |\n"
              + "| --- " * 12 + "|")
        for kind, r in result["speed"].items():
            if not isinstance(r, dict):
                continue
            b = r.get("baseline", {})
            nan = float("nan")
            print(f"| {kind} | {r['words_median']:.0f} | {r['ms_cpu_p50']:.2f} | {r['ms_cpu_best_p50']:.2f} | "
                  f"{r['ms_best_p50']:.2f} | {r['ms_p50']:.2f} | {r['ms_p90']:.2f} | {r['ms_p50_cold']:.2f} | "
                  f"{b.get('ms_cpu_p50', nan):.2f} | {b.get('ms_cpu_best_p50', nan):.2f} | "
                  f"{r.get('speedup_cpu_vs_baseline', nan):.2f}x / {r.get('speedup_cpu_best_vs_baseline', nan):.2f}x | "
                  f"{r.get('identical_analyses', '-')} |")
        result["components"] = components_bench(args.seeds[0])
        print("\n| step (synthetic 2,000-word transcript) | CPU ms, fastest of 20 |\n| --- | --- |")
        for name, ms in result["components"].items():
            print(f"| {name} | {ms:.2f} |")
    if not args.skip_health:
        result["health"] = [pair_health_bench(seed) for seed in args.seeds]
        print("\n## Pair health AUC (hidden good/poor)\n\n| seed | pairs | evaluated | good | health AUC | "
              "ratings-only AUC | " + " | ".join(SIGNALS) + " | all pairs at the end |\n|" + " --- |" * (7 + len(SIGNALS)))
        for r in result["health"]:
            sig = " | ".join(f"{r['signals_auc'][n]:.3f}" for n in SIGNALS)
            print(f"| {r['seed']} | {r['pairs']} | {r['evaluated']} | {r['good_share']:.0%} | {r['health_auc']:.3f} | "
                  f"{r['ratings_auc']:.3f} | {sig} | {r['at_end_all_pairs']['health']:.3f} |")
        print("\n| seed | history | pairs | health AUC | ratings-only AUC |\n| --- | --- | --- | --- | --- |")
        for r in result["health"]:
            for name, b in r["by_history"].items():
                print(f"| {r['seed']} | {name} | {b['pairs']} | {b['health']:.3f} | {b['ratings']:.3f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
