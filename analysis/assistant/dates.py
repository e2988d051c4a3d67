"""Deadlines in a message, resolved against ``now``: "by March", "in 6 weeks", "before 2027-02-01".

Conventions (docs/assistant.md), all relative to ``now`` passed in (never the clock):

- a month without a year is the next one to come: the current month counts as this
  year, a month already past means next year; "by/in/until March" is its last day,
  "before March" the last day of February, "early/mid March" the 10th/15th;
- "before <date>" is the day before; "by <date>" the date itself;
- "in N days/weeks/months/years" adds them to ``now``; "end of the year/month/quarter",
  "next month" (its last day), "by next week" (``now`` + 7 days), "Q1" (its last day);
- seasons start on the first day of their month (spring March 1, summer June 1,
  autumn September 1, winter December 1); "Christmas" is December 25;
- a weekday is the next one after today; "this year"/"this month" are *horizons*, which
  the caller keeps only where a deadline makes sense (goals and plans).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from analysis.assistant.quantities import _NUM, Span, number

__all__ = ["find_deadlines", "MONTHS"]

MONTHS: dict[str, int] = {}
for _i, _name in enumerate(calendar.month_name):
    if _name:
        MONTHS[_name.lower()] = _i
        MONTHS[_name[:3].lower()] = _i
MONTHS["sept"] = 9
_FULL_MONTHS = {n.lower() for n in calendar.month_name if n}
# Month names that are also everyday words need a date-like neighbour.
_VERB_MONTHS = {"may", "march", "mar", "jan", "jun", "oct", "dec", "aug", "sep"}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(20\d\d)"
_PREP = r"(by|before|until|till|til|in|for|during|around|end\s+of|the\s+end\s+of|mid|mid-|early|late|" \
        r"beginning\s+of|start\s+of|deadline|due|on)"
_I = re.IGNORECASE

_ISO = re.compile(r"\b(?:(before|by|until|till|due|on)\s+)?" + _YEAR + r"-(\d{2})-(\d{2})\b", _I)
_MONTH_DAY = re.compile(r"\b(?:" + _PREP + r"\s+(?:the\s+)?)?" + _MONTH + r"(?:\s+" + _DAY + r"(?!\d))?(?:,?\s+" + _YEAR
                        + r")?\b", _I)
_DAY_MONTH = re.compile(r"\b(?:" + _PREP + r"\s+(?:the\s+)?)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR
                        + r")?\b", _I)
_RELATIVE = re.compile(r"\b(?:(in|within|over|in\s+the\s+next|over\s+the\s+next|next|got|have|only\s+have)\s+)?"
                       + _NUM + r"\s+(day|week|month|year)s?\b(\s+(?:from\s+now|time|left))?", _I)
_IN_A = re.compile(r"\b(?:in|within)\s+(?:a|one)\s+(day|week|fortnight|month|year)\b", _I)
_END_OF = re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(next\s+)?(year|month|week|quarter)|"
                     r"year[- ]end|(by|before|until|till)\s+next\s+(week|month|year))\b", _I)
_HORIZON = re.compile(r"\bthis\s+(year|month)\b", _I)
_SEASON = re.compile(r"\b(?:by|before|until|till|in|for)\s+(?:the\s+)?(spring|summer|autumn|fall|winter|christmas|xmas|"
                     r"new\s+year)\b", _I)
_QUARTER = re.compile(r"\b(?:(?:the\s+)?end\s+of\s+|by\s+|before\s+|in\s+)?(?:the\s+)?q([1-4])(?:\s+" + _YEAR + r")?\b", _I)
_WEEKDAY = re.compile(r"\b(?:by|before|until|till|on|this|next)\s+(monday|tuesday|wednesday|thursday|friday|saturday|"
                      r"sunday)\b", _I)
_TOMORROW = re.compile(r"\b(?:by|before|until|till)\s+tomorrow\b", _I)
_SEASON_START = {"spring": (3, 1), "summer": (6, 1), "autumn": (9, 1), "fall": (9, 1), "winter": (12, 1),
                 "christmas": (12, 25), "xmas": (12, 25)}


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _month_date(prep: str | None, month: int, day: str | None, year: str | None, today: date) -> date:
    p = (prep or "").lower().replace("the ", "").strip()
    y = int(year) if year else (today.year if month >= today.month else today.year + 1)
    if day:
        d = date(y, month, min(int(day), calendar.monthrange(y, month)[1]))
        if not year and d < today:
            d = date(y + 1, month, d.day)
        return d - timedelta(days=1) if p == "before" else d
    if p == "before":
        return date(y, month, 1) - timedelta(days=1)
    if p in ("beginning of", "start of"):
        return date(y, month, 1)
    if p == "early":
        return date(y, month, 10)
    if p in ("mid", "mid-"):
        return date(y, month, 15)
    return _month_end(y, month)


def find_deadlines(text: str, today: date) -> list[Span]:
    """``deadline`` spans (value: a ``date``) and ``horizon`` spans ("this year"), in text order."""
    out: list[Span] = []

    def add(kind: str, value: date, start: int, end: int) -> None:
        if not any(s.start < end and start < s.end for s in out):
            out.append(Span(kind, value, start, end))

    for m in _ISO.finditer(text):
        try:
            d = date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
        except ValueError:
            continue
        add("deadline", d - timedelta(days=1) if (m.group(1) or "").lower() == "before" else d, m.start(), m.end())
    for pat, order in ((_DAY_MONTH, "dm"), (_MONTH_DAY, "md")):
        for m in pat.finditer(text):
            prep, a, b, year = m.groups()
            month_s, day = (a, b) if order == "md" else (b, a)
            month = MONTHS[month_s.lower().rstrip(".")]
            name = month_s.lower().rstrip(".")
            if not (prep or year) and (name in _VERB_MONTHS or not day and name not in _FULL_MONTHS):
                continue  # "may", "march" and abbreviations need a preposition or a year
            add("deadline", _month_date(prep, month, day, year, today), m.start(), m.end())
    for m in _RELATIVE.finditer(text):
        if not (m.group(1) or m.group(4)):
            continue
        n, unit = number(m.group(2)), m.group(3).lower()
        if unit == "day":
            d = today + timedelta(days=round(n))
        elif unit == "week":
            d = today + timedelta(days=round(7 * n))
        elif unit == "month":
            d = _add_months(today, round(n))
        else:
            d = _add_months(today, round(12 * n))
        add("deadline", d, m.start(), m.end())
    for m in _IN_A.finditer(text):
        unit = m.group(1).lower()
        d = {"day": today + timedelta(days=1), "week": today + timedelta(days=7),
             "fortnight": today + timedelta(days=14), "month": _add_months(today, 1),
             "year": _add_months(today, 12)}[unit]
        add("deadline", d, m.start(), m.end())
    for m in _END_OF.finditer(text):
        nxt, unit, by, by_unit = m.groups()
        if by:
            unit = by_unit.lower()
            if unit == "week":
                d = today + timedelta(days=7)
            elif unit == "month":
                t = _add_months(today.replace(day=1), 1)
                d = _month_end(t.year, t.month)
            else:  # "by next year": before it starts
                d = date(today.year, 12, 31)
        else:
            unit = (unit or "year").lower()
            shift = 1 if nxt else 0
            if unit == "year":
                d = date(today.year + shift, 12, 31)
            elif unit == "month":
                t = _add_months(today.replace(day=1), shift)
                d = _month_end(t.year, t.month)
            elif unit == "week":
                d = today + timedelta(days=6 - today.weekday() + 7 * shift)
            else:
                q_end = ((today.month - 1) // 3 + 1 + shift) * 3
                y = today.year + (q_end - 1) // 12
                d = _month_end(y, (q_end - 1) % 12 + 1)
        add("deadline", d, m.start(), m.end())
    for m in _SEASON.finditer(text):
        name = m.group(1).lower()
        if name.startswith("new"):
            d = date(today.year, 12, 31)
        else:
            mo, dy = _SEASON_START[name]
            d = date(today.year, mo, dy)
            if d < today:
                d = date(today.year + 1, mo, dy)
        add("deadline", d, m.start(), m.end())
    for m in _QUARTER.finditer(text):
        q, year = int(m.group(1)), m.group(2)
        y = int(year) if year else today.year
        d = _month_end(y, 3 * q)
        if not year and d < today:
            d = _month_end(y + 1, 3 * q)
        add("deadline", d, m.start(), m.end())
    for m in _WEEKDAY.finditer(text):
        wd = list(calendar.day_name).index(m.group(1).capitalize())
        add("deadline", today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1), m.start(), m.end())
    for m in _TOMORROW.finditer(text):
        add("deadline", today + timedelta(days=1), m.start(), m.end())
    for m in _HORIZON.finditer(text):
        d = date(today.year, 12, 31) if m.group(1).lower() == "year" else _month_end(today.year, today.month)
        add("horizon", d, m.start(), m.end())
    return sorted(out, key=lambda s: s.start)
