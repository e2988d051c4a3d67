"""A mentee's context: everything a request needs to know about one mentee, computed once.

:func:`mentee_context` turns a mentee's profile and events into a frozen
:class:`MenteeContext`: the confidence row models fold in, the items never to recommend,
the completed items, the goals (requested, else stated) with their levels, the profile
rows, and on demand the events as a frame and the mastery state at ``now``. The service
caches one per mentee and log sequence (``serving/userstate.py``), the CLI builds one per
command, and the path planner reads its events and mastery from it, so the three never
disagree about a mentee.

Pure: ``now`` is passed in and nothing is read here. History and exclusions use every
event given (a client's clock may run ahead of ours, and such an event must still hide
the item); mastery and the planner read the events at or before ``now``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog, World
from catalog.errors import ConfigError
from catalog.schema import Goal, Mentee
from recommender.goals import GoalSpec, goal_indices, profile_row, requested_goals, stated_goals
from recommender.interactions import EventWeights, user_interactions
from recommender.mastery import MasteryModel, MasteryState

__all__ = ["EventRow", "MenteeContext", "mentee_context", "event_rows"]

#: One event as the log stores it for a mentee: ``(item_id, event_type, value, ts_us)``, in time order.
EventRow = tuple[str, str, float | None, int]

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class MenteeContext:
    """One mentee at ``now``; see the module docstring.

    ``mentee`` is a bare :class:`Mentee` when there is no profile (``has_profile`` False).
    ``goals`` are the request's goals when it gave some (``goals_requested``), else the
    mentee's stated ones; ``goal_skills`` their skill indices. ``profile_row`` is built on
    the *stated* goals (what a model folds in, whatever the request asks);
    ``goals_row`` on ``goals`` (what the content fallback ranks by). ``memo`` holds values
    derived per model (vectors, neighbours) and is shared by every context made from the
    same events with :meth:`with_request`.
    """

    catalog: Catalog
    user_id: str
    now: datetime
    mentee: Mentee
    has_profile: bool
    rows: tuple[EventRow, ...]
    history: sp.csr_matrix
    exclude: NDArray[np.int64]
    completed: NDArray[np.int64]
    goals: tuple[Goal, ...]
    goals_requested: bool
    goal_skills: NDArray[np.int64]
    profile_row: NDArray[np.float32]
    goals_row: NDArray[np.float32]
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def n_events(self) -> int:
        return len(self.rows)

    def cached(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` for these events (keys name the model, e.g. its checksum)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]  # type: ignore[no-any-return]

    @property
    def events(self) -> pd.DataFrame:
        """The mentee's events as a frame (``user_id, item_id, event_type, value, timestamp``), time-ordered."""
        return self.cached("events", self._frame)

    def _frame(self) -> pd.DataFrame:
        return _rows_frame(self.user_id, self.rows)

    @property
    def n_upto_now(self) -> int:
        """How many of the events are at or before ``now`` (what mastery and the planner read)."""
        return bisect_right(self.rows, int(self.now.timestamp() * 1_000_000), key=lambda r: r[3])

    def mastery(self, model: MasteryModel) -> MasteryState:
        """Mastery at ``now``: the mentee's self-assessed levels, then their events up to ``now``.

        Folded once per set of events read (shared by every request on these events) and
        moved to a later ``now`` with :meth:`MasteryModel.advance`, which equals refolding."""
        key = ("mastery", id(model), id(model.params_), self.n_upto_now)
        hit = self.memo.get(key)
        if hit is not None and hit[0] is model and hit[1].as_of <= self.now:
            return model.advance(hit[1], now=self.now, catalog=self.catalog)  # type: ignore[no-any-return]
        state = self._carried(model)
        if state is None:
            seed = model.initial_state(self.catalog, user_id=self.user_id, self_levels=self.mentee.self_levels)
            state = model.update(seed, self.events, self.catalog, now=self.now)
        self.memo[key] = (model, state)
        return state

    def carry_from(self, earlier: MenteeContext) -> None:
        """Offer ``earlier``'s folded mastery (the same mentee, profile and catalog, fewer events) to this
        context, so :meth:`mastery` folds only the events since: the cost of a new event is that event.
        A state ``earlier`` was itself offered and never needed (its requests did not read mastery) is
        offered on, so a run of such contexts still folds only the events since the last fold."""
        items = list(earlier.memo.items())
        for key, val in items:
            if isinstance(key, tuple) and key[0] == "mastery-carry":
                self.memo.setdefault(key, val)
        for key, val in items:
            if isinstance(key, tuple) and key[0] == "mastery":
                self.memo[("mastery-carry", key[1], key[2])] = (val[0], earlier.rows, key[3], val[1])

    def _carried(self, model: MasteryModel) -> MasteryState | None:
        """Mastery from a carried state (:meth:`carry_from`) and the events after it, or None when that is not
        exactly the full fold: the earlier events must be this context's first ones, in the same order, and
        forgetting off (with it on, decaying in two stretches may round differently from one)."""
        hit = self.memo.get(("mastery-carry", id(model), id(model.params_)))
        if hit is None or hit[0] is not model or model.forgetting_half_life_days is not None:
            return None
        _, rows, n, state = hit
        if n > self.n_upto_now or state.as_of is None or state.as_of > self.now or self.rows[:n] != rows[:n]:
            return None
        new = [r for r in self.rows[n:self.n_upto_now] if r[1] in ("assess", "complete")]  # the evidence kinds
        if not new:  # views, likes, dismissals: no evidence, so update would only move the clock
            return model.advance(state, now=self.now, catalog=self.catalog)  # type: ignore[no-any-return]
        return model.update(state, _rows_frame(self.user_id, new), self.catalog, now=self.now)  # type: ignore[no-any-return]

    def with_request(self, *, now: datetime, goals: Iterable[GoalSpec | Goal] | None = None) -> MenteeContext:
        """The same events at another ``now`` and, if given, for other goals (sharing :attr:`memo`)."""
        _check_now(now)
        if goals is None and now == self.now:
            return self
        fields = {"now": now} if goals is None else {"now": now, **_goal_fields(self.catalog, self.mentee, goals)}
        new = object.__new__(MenteeContext)  # a shallow copy without copy.copy's reduce protocol: once per request
        new.__dict__.update(self.__dict__, **fields)
        return new


def _rows_frame(user_id: str, rows: Sequence[EventRow]) -> pd.DataFrame:
    """``rows`` of ``user_id`` as an events frame (``user_id, item_id, event_type, value, timestamp``).

    Built from numpy columns (no parsing: the rows hold microseconds already), as it is once per new
    context on the request path."""
    n = len(rows)
    items, kinds, values, ts = zip(*rows) if n else ((), (), (), ())
    users = np.empty(n, dtype=object)
    users[:] = user_id
    return pd.DataFrame({
        "user_id": users,
        "item_id": _objects(items),
        "event_type": _objects(kinds),
        "value": np.array([np.nan if v is None else v for v in values], dtype=np.float64),
        "timestamp": pd.DatetimeIndex(np.array(ts, dtype=np.int64).view("M8[us]")).tz_localize("UTC"),
    }, copy=False)


def _objects(xs: Sequence[str]) -> NDArray[np.object_]:
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ConfigError(f"now {now!r} must be timezone-aware (UTC)")


def _goal_fields(catalog: Catalog, mentee: Mentee, goals: Iterable[GoalSpec | Goal] | None) -> dict[str, Any]:
    resolved = stated_goals(mentee, catalog) if goals is None else requested_goals(mentee, catalog, goals)
    return {"goals": resolved, "goals_requested": goals is not None, "goal_skills": goal_indices(catalog, resolved),
            "goals_row": profile_row(catalog, mentee, resolved)}


def event_rows(events: pd.DataFrame, user_id: str) -> list[EventRow]:
    """``user_id``'s rows of an events frame (any users) as :data:`EventRow` tuples, in stable time order."""
    if events is None or len(events) == 0:
        return []
    ev = events[events["user_id"].astype(str) == user_id]
    ts = pd.to_datetime(ev["timestamp"], utc=True).astype("datetime64[us, UTC]").astype("int64").to_numpy()
    order = np.argsort(ts, kind="stable")
    values = ev["value"].to_numpy(dtype=np.float64, na_value=np.nan) if "value" in ev.columns \
        else np.full(len(ev), np.nan)
    items, kinds = ev["item_id"].astype(str).to_numpy(), ev["event_type"].astype(str).to_numpy()
    return [(items[i], kinds[i], None if np.isnan(values[i]) else float(values[i]), int(ts[i])) for i in order]


def mentee_context(world: World, user_id: str, *, now: datetime,
                   events: pd.DataFrame | Sequence[EventRow] = (),
                   goals: Iterable[GoalSpec | Goal] | None = None,
                   weights: EventWeights | None = None) -> MenteeContext:
    """The context of ``user_id`` at ``now``.

    Parameters
    ----------
    events : DataFrame (any users; only ``user_id``'s are read) or :data:`EventRow` tuples
        (this mentee's, time-ordered, as ``EventLog.user_rows`` returns them).
    goals : ``[(skill, level or None)]`` or :class:`Goal`\\ s; default the mentee's stated goals.
        Unknown skills raise one :class:`UnknownSkillError`; bad levels a :class:`ConfigError`.
    weights : the confidence of each event type (:class:`EventWeights`; the default rules).
    """
    _check_now(now)
    catalog = world.catalog
    profile = world.mentees.get(user_id)
    mentee = profile if profile is not None else Mentee(user_id)
    rows = tuple(event_rows(events, user_id) if isinstance(events, pd.DataFrame) else events)
    items = catalog.items
    inter = user_interactions(rows, items=items, weights=weights)
    done = items.indices([r[0] for r in rows if r[1] == "complete"], missing="-1")
    stated = stated_goals(mentee, catalog)
    return MenteeContext(
        catalog=catalog, user_id=user_id, now=now, mentee=mentee, has_profile=profile is not None, rows=rows,
        history=inter.history, exclude=inter.exclusions(seen=True), completed=np.unique(done[done >= 0]),
        profile_row=profile_row(catalog, mentee, stated), **_goal_fields(catalog, mentee, goals))
