"""The SkillPath exception tree.

Every error a user can cause derives from :class:`SkillPathError`, so entry points
(the CLI, the service) catch one root and turn it into exit code 2 or an HTTP 4xx.
Subclasses also inherit the built-in they resemble, so ``except KeyError`` still works.

    SkillPathError
    ├── ConfigError (ValueError)
    ├── DataValidationError (ValueError)     -- carries every RowError found
    ├── InvalidValueError (ValueError)       -- one input value, with the field it came in
    │   └── TextTooLongError                 -- a text field over its size limit
    ├── CycleError (ValueError)              -- names the skills on the cycle
    ├── UnknownIdError (KeyError)
    │   ├── UnknownSkillError
    │   ├── UnknownItemError
    │   ├── UnknownUserError
    │   └── UnknownMentorError
    ├── IntegrityError (ValueError)          -- checksum or shape mismatch on load
    └── NotReadyError (RuntimeError)         -- something must be built first
        └── StorageUnavailableError          -- the shared database is down: retry

HTTP status codes are decided in ``serving/``, never here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SkillPathError",
    "ConfigError",
    "DataValidationError",
    "RowError",
    "InvalidValueError",
    "TextTooLongError",
    "CycleError",
    "UnknownIdError",
    "UnknownSkillError",
    "UnknownItemError",
    "UnknownUserError",
    "UnknownMentorError",
    "IntegrityError",
    "NotReadyError",
    "StorageUnavailableError",
]


class SkillPathError(Exception):
    """Root of every error SkillPath raises on purpose."""


class ConfigError(SkillPathError, ValueError):
    """A configuration file or option is invalid."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row of an input file.

    ``line`` is the 1-based line in the file as a user sees it (the CSV header is
    line 1, so the first data row is line 2; JSON Lines start at 1).
    """

    line: int
    column: str
    reason: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:" if self.source else "line "
        return f"{where}{self.line}: {self.column}: {self.reason}"


class DataValidationError(SkillPathError, ValueError):
    """An input file has bad rows; nothing from it was loaded."""

    def __init__(self, errors: list[RowError], *, source: str = "", max_shown: int = 20) -> None:
        self.errors = list(errors)
        self.source = source
        shown = "\n".join(f"  {e}" for e in self.errors[:max_shown])
        more = len(self.errors) - max_shown
        tail = f"\n  ... and {more} more" if more > 0 else ""
        what = source or "input"
        super().__init__(f"{what}: {len(self.errors)} error(s) in {len({(e.source, e.line) for e in self.errors})} row(s), nothing loaded:\n{shown}{tail}")


class InvalidValueError(SkillPathError, ValueError):
    """One input value breaks a rule; ``field`` names where it came in (``"message"``).

    Entry points answer it like a schema error on that field (HTTP 400, CLI exit 2).
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class TextTooLongError(DataValidationError):
    """A text (a session transcript, notes) is over its size limit; its errors name the field.

    Its own class because the service answers it differently from other bad input (413).
    """


class CycleError(SkillPathError, ValueError):
    """The prerequisite graph has a cycle."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = list(cycle)
        path = " -> ".join([*self.cycle, self.cycle[0]]) if self.cycle else "?"
        super().__init__(f"prerequisite cycle: {path}; remove one of these prerequisites")


class UnknownIdError(SkillPathError, KeyError):
    """An id that is not known to the catalog or the model."""

    kind = "id"

    def __init__(self, ids: str | list[str], hint: str = "") -> None:
        self.ids = [ids] if isinstance(ids, str) else list(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" and {len(self.ids) - 10} more" if len(self.ids) > 10 else ""
        self.message = f"unknown {self.kind}: {shown}{more}" + (f"; {hint}" if hint else "")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class UnknownSkillError(UnknownIdError):
    kind = "skill"


class UnknownItemError(UnknownIdError):
    kind = "item"


class UnknownUserError(UnknownIdError):
    kind = "mentee"


class UnknownMentorError(UnknownIdError):
    kind = "mentor"


class IntegrityError(SkillPathError, ValueError):
    """A stored artifact does not match its recorded checksum or expected shape."""


class NotReadyError(SkillPathError, RuntimeError):
    """A prerequisite step has not run yet (for example: no data, no trained model)."""


class StorageUnavailableError(NotReadyError):
    """The shared database cannot be reached right now; nothing was stored, retry shortly."""

    retry_after_s = 2
