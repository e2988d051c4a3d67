"""Configuration of the synthetic world: sizes, seed, and the fixed date the world ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from catalog.errors import ConfigError
from catalog.schema import parse_timestamp

__all__ = ["SynthConfig", "DEFAULT_END", "DAY_US"]

DEFAULT_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAY_US = 86_400_000_000

# Independent random streams, so changing one size does not reshuffle everything else.
# New streams go last: SeedSequence children are numbered, so the earlier ones stay the same.
_STREAMS = ("skills", "content", "people", "simulation", "outcomes", "sessions")


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """What to generate. Every field has a default; nothing depends on the wall clock.

    ``end`` is when the world ends: events run over the ``days`` before it, content is
    published over the ``years`` before it. Strings are parsed as ISO-8601 UTC.
    ``sessions`` adds mentoring sessions, drawn from their own random stream after
    everything else, so turning it off or on changes no other output.
    """

    seed: int = 7
    n_mentees: int = 6000
    n_items: int = 5000
    n_mentors: int = 150
    days: int = 365
    years: int = 6
    end: datetime = DEFAULT_END
    sessions: bool = True  # mentoring sessions for mentor-mentee pairs (catalog.synth.sessions)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "end", parse_timestamp(self.end))
        except ValueError as e:
            raise ConfigError(f"SynthConfig.end: {e}") from None
        if not isinstance(self.sessions, bool):
            raise ConfigError(f"SynthConfig.sessions must be true or false, got {self.sessions!r}")
        for name, low in (("n_mentees", 1), ("n_items", 1), ("n_mentors", 0), ("days", 1), ("years", 1),
                          ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(f"SynthConfig.{name} must be an integer >= {low}, got {value!r}")

    @property
    def end_us(self) -> int:
        """``end`` as microseconds since the epoch."""
        return int(self.end.timestamp()) * 1_000_000 + self.end.microsecond

    @property
    def start(self) -> datetime:
        """When the simulated events begin (``days`` before ``end``)."""
        return self.end - timedelta(days=self.days)

    @property
    def start_us(self) -> int:
        return self.end_us - self.days * DAY_US

    def rngs(self) -> dict[str, np.random.Generator]:
        """One independent generator per stage, all derived from ``seed``."""
        children = np.random.SeedSequence(self.seed).spawn(len(_STREAMS))
        return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}
