"""Recorded mentoring sessions as the monitor's mentor-contact input.

:class:`SessionContacts` keeps, per mentee and mentor, the start times and the mentee's
ratings of their sessions (:func:`analysis.monitoring.inputs.session_marks`), read from
the session store and re-read only when the store's :meth:`version` changes (a session
recorded or forgotten by any worker), so a sweep over 10,000 mentees reads the store
once. The whole record is passed to the status: a status at a time reads only the
sessions started by then (``analysis.monitoring.status``), so a session stamped in the
future never counts early.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from analysis.monitoring.inputs import marks_by_pair

__all__ = ["SessionContacts", "ContactSource"]

Marks = tuple[tuple[int, ...], tuple[float, ...]]


class ContactSource(Protocol):
    def version(self) -> Any: ...

    def contacts(self) -> list[tuple[str, str, int, int | None]]: ...


class SessionContacts:
    """Per (mentee, mentor): session start times and mentee ratings; ``any`` once a session exists."""

    def __init__(self, source: Callable[[], ContactSource | None]) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._version: Any = None
        self._marks: dict[str, dict[str, Marks]] = {}

    def refresh(self) -> None:
        """Re-read the store if it changed since the last read."""
        store = self._source()
        if store is None or not hasattr(store, "contacts"):
            return      # no session store (or one without the contact query): contact is the assignment only
        version = store.version()
        with self._lock:
            if version == self._version:
                return
            marks: dict[str, dict[str, Marks]] = {}
            for (mentee, mentor), m in marks_by_pair(store.contacts()).items():
                marks.setdefault(mentee, {})[mentor] = m
            self._marks = marks
            self._version = version

    @property
    def any(self) -> bool:
        """Whether any session is recorded (the programme records sessions: contact is measurable)."""
        return bool(self._marks)

    def marks(self, mentee_id: str, mentor_id: str) -> Marks:
        return self._marks.get(mentee_id, {}).get(mentor_id, ((), ()))
