"""Forgetting a mentee: every store that keeps something about them removes it.

:class:`Forgetters` is a registry: each store holding per-mentee data registers one
function ``forget(user_id) -> rows removed`` under a name (the assistant's
conversations, the mentor assignment, the online and offline feature tables; later
issues' stores register theirs). :func:`forget_mentee` first writes a tombstone (so a
replayed old event never brings the mentee back: the event log drops events of a
forgotten mentee dated up to the forget, and acknowledges them as duplicates), then
deletes their events, their profile and whatever the registered stores hold.

A trained model keeps the mentee's vector until the next training: that run reads the
log, which no longer has them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from catalog.errors import UnknownUserError
from catalog.eventlog import EventLog
from catalog.store.entities import Entities

__all__ = ["Forgetters", "forget_mentee", "MODEL_NOTE"]

log = logging.getLogger("skillpath.store")

Forgetter = Callable[[str], int]
MODEL_NOTE = ("the served model keeps this mentee's trained vector until the next training run, which no longer "
              "sees them; retrain now with `skillpath mentees forget --retrain` or `skillpath train`")


class Forgetters:
    """Named functions that remove one mentee's rows from a store (see the module docstring)."""

    def __init__(self) -> None:
        self._fns: dict[str, Forgetter] = {}
        self._lock = threading.Lock()

    def register(self, name: str, fn: Forgetter) -> None:
        with self._lock:
            self._fns[name] = fn

    def names(self) -> list[str]:
        return sorted(self._fns)

    def forget(self, user_id: str) -> dict[str, int]:
        """Run every registered forgetter; each one's count (a failing one raises after the others ran)."""
        with self._lock:
            fns = dict(self._fns)
        out, failed = {}, []
        for name, fn in fns.items():
            try:
                out[name] = int(fn(user_id))
            except Exception as e:  # one store's failure must not stop the others from forgetting
                log.exception("forgetting %s in %s failed", user_id, name)
                failed.append(f"{name}: {e}")
        if failed:
            raise RuntimeError(f"could not forget {user_id!r} everywhere ({'; '.join(failed)}); run the forget again")
        return out


def forget_mentee(user_id: str, *, entities: Entities, events: EventLog, forgetters: Forgetters, actor: str,
                  now_us: int) -> dict[str, int]:
    """Tombstone, then remove ``user_id``'s events, profile and registered rows; counts per store.

    Raises :class:`UnknownUserError` for a mentee with neither a profile nor events (nothing to forget).
    """
    has_profile = entities.find("mentees", user_id) is not None
    if not has_profile and events.last_seq(user_id) == 0 and user_id not in entities.store.tombstones([user_id]):
        raise UnknownUserError(user_id, "no profile and no events")
    entities.store.tombstone(user_id, actor=actor, now_us=now_us)
    removed = {"events": events.forget_user(user_id)}
    if has_profile:
        entities.delete("mentees", user_id, actor=actor, now_us=now_us, op="forget")
    removed["profile"] = int(has_profile)
    removed.update(forgetters.forget(user_id))
    return removed
