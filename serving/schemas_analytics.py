"""The one answer shape of ``GET /analytics/...``: a named table of columns and rows (also served as CSV)."""

from __future__ import annotations

from typing import Union

from pydantic import BaseModel, Field

__all__ = ["AnalyticsTable"]

Cell = Union[str, int, float, bool, None]


class AnalyticsTable(BaseModel):
    """One table of the console, exactly as its page shows it."""

    name: str = Field(description="Which table.", examples=["funnel"])
    as_of: str = Field(description="The service's time when the table was computed (UTC, ISO 8601).",
                       examples=["2026-11-01T00:00:00+00:00"])
    columns: list[str] = Field(description="Column names, in the order of every row.",
                               examples=[["stage", "pairs", "share_of_recommended"]])
    rows: list[list[Cell]] = Field(description="The rows; numbers rounded to 4 places, times in ISO 8601.",
                                   examples=[[["recommended", 144288, 1.0], ["started", 41990, 0.291]]])
    notes: str = Field(description="What the numbers mean (definitions, caveats).",
                       examples=["Distinct (mentee, resource) pairs reaching each stage."])
