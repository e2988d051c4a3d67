"""The virtual mentor end to end, in-process: one message through ``AssistantView.answer``, no HTTP.

Per message: the conversation state read from and written to ``assistant.db``,
``understand``, the facts fetched through the service's own endpoint code (recommend,
path planning, mentor matching, skills, freshness, search), ``compose`` and the response
model; the LLM rephrasing is off (its time is the endpoint's). The world is the demo of
``skillpath data synth --seed 7`` with its simulated events in the log and a 64-factor
ALS model, built once into ``--data-dir`` (default ``/tmp/skillpath-assistantbench-7``)
and reused while its config matches. Used by ``benchmarks/assistant.py``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.assistant.evaluation import state_for
from analysis.assistant.examples import LABEL_NOW, Example

__all__ = ["prepare", "end_to_end", "DEFAULT_DIR"]

DEFAULT_DIR = Path("/tmp/skillpath-assistantbench-7")


def prepare(root: Path, *, seed: int = 7) -> dict[str, Any]:
    """The seed-``seed`` demo world (``SynthConfig`` defaults), its events in the log and an ALS model in
    ``root/models/als``: the REST harness's world, at the demo's size."""
    from benchmarks.rest import prepare as prepare_world
    from catalog.synth import SynthConfig

    c = SynthConfig(seed=seed)
    return prepare_world(root, n_items=c.n_items, n_mentees=c.n_mentees, days=c.days, seed=seed,
                         n_mentors=c.n_mentors)


def _pct(xs: Sequence[float]) -> dict[str, float]:
    a = np.array(xs) * 1000
    return {"n": len(xs), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "mean_ms": round(float(a.mean()), 2)}


def end_to_end(root: Path, examples: Sequence[Example], *, rounds: int = 3, n_users: int = 50) -> dict[str, Any]:
    """p50/p99 of ``AssistantView.answer`` per message (all, and per answered intent), with the fetch step apart.

    Each message is asked by one of ``n_users`` mentees with events (in turn); a follow-up
    continues a conversation stored with the state it was labelled in. Mentees never
    write (``can_write=False``), so a confirmed goal is answered without the file write.
    """
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas_assistant import AssistantRequest

    info = prepare(root)
    settings = load_settings(data_dir=str(root), model_dir=str(root / "models" / "als"))
    t0 = time.perf_counter()
    app = SkillPathApp.from_settings(settings, model_dir=settings.model_dir, clock=lambda: LABEL_NOW)
    t_app = time.perf_counter() - t0
    t0 = time.perf_counter()
    view = app.assistant
    t_view = time.perf_counter() - t0
    fetch_s: dict[str, list[float]] = defaultdict(list)
    fetch = view.fetcher.fetch

    def timed_fetch(u: Any, *args: Any) -> Any:
        t = time.perf_counter()
        out = fetch(u, *args)
        fetch_s[u.intent].append(time.perf_counter() - t)
        return out

    view.fetcher.fetch = timed_fetch  # type: ignore[method-assign]
    users = sorted(u for u in app.world.mentees if app.log.last_seq(u) > 0)[:n_users]
    total: list[float] = []
    by_intent: dict[str, list[float]] = defaultdict(list)
    try:
        for r in range(rounds + 1):  # round 0 warms caches (contexts, masks, path scores) and is not counted
            for n, e in enumerate(examples):
                user = users[(n + r) % len(users)]
                cid = None
                if e.is_follow_up:
                    cid = f"bench-{r}-{n:06d}-0000"
                    view.store.save(cid, user, state_for(e), now=LABEL_NOW)
                req = AssistantRequest(user_id=user, message=e.text, conversation_id=cid)
                t = time.perf_counter()
                resp = view.answer(req, can_write=False)
                dt = time.perf_counter() - t
                if r:
                    total.append(dt)
                    by_intent[resp.intent].append(dt)
            if r == 0:
                fetch_s.clear()
    finally:
        app.close()
    return {"world": info, "app_start_s": round(t_app, 2), "assistant_build_s": round(t_view, 2),
            "users": len(users), "rounds": rounds, "per_message": _pct(total),
            "per_intent": {k: _pct(v) for k, v in sorted(by_intent.items())},
            "fetch_per_intent": {k: _pct(v) for k, v in sorted(fetch_s.items())}}
