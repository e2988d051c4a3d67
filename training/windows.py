"""Moved to :mod:`features.windows` (the service needs it too); re-exported here."""

from __future__ import annotations

from features.windows import Positions, PrefixIndex

__all__ = ["PrefixIndex", "Positions"]
