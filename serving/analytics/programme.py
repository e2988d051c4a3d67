"""The programme lead's analytics, each one duckdb query over :class:`~serving.analytics.store.AnalyticsStore`.

Definitions (also in docs/console.md):

- *active* in a week: at least one event other than an impression that week;
- the funnel counts distinct (mentee, resource) pairs: recommended (an impression), started,
  completed, mastered (an assessment at or above the pass score);
- a goal is *attained* when the mentee passed an assessment on a resource teaching the goal skill
  at the goal level or above, *evidenced* when they passed one at any level; the time to mastery shown
  runs from the mentee's first event on a resource of that skill to the first passed assessment of it;
- cohorts are start months (a mentee's first event); the attainment rate carries a Wilson 95%
  interval, and a difference from the previous cohort is claimed only when the 95% interval of the
  difference (normal approximation) excludes zero.
"""

from __future__ import annotations

import math

import pandas as pd

from serving.analytics.store import AnalyticsStore, Table

__all__ = ["PASS_SCORE", "active_weekly", "funnel", "goals", "mentor_load", "skills_demand", "cohorts", "wilson"]

PASS_SCORE = 50.0
Z95 = 1.959964


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson 95% interval of a proportion k/n ((nan, nan) for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + Z95 ** 2 / n
    c = (p + Z95 ** 2 / (2 * n)) / d
    h = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def active_weekly(store: AnalyticsStore, weeks: int = 26) -> Table:
    def build() -> Table:
        df = store.sql("""
            WITH w AS (SELECT date_trunc('week', ts) AS week, user_id FROM events WHERE event_type <> 'impression')
            SELECT CAST(week AS DATE) AS week, COUNT(DISTINCT user_id) AS active_mentees, COUNT(*) AS events
            FROM w GROUP BY week ORDER BY week DESC LIMIT ?""", [weeks])
        return Table.of("active-weekly", df.iloc[::-1].reset_index(drop=True),
                        "Mentees with at least one event other than an impression, per ISO week (Monday).")
    return store.cached(("active", weeks), build)


def funnel(store: AnalyticsStore) -> Table:
    def build() -> Table:
        df = store.sql(f"""
            SELECT COUNT(*) FILTER (WHERE imp) AS recommended, COUNT(*) FILTER (WHERE st) AS started,
                   COUNT(*) FILTER (WHERE co) AS completed, COUNT(*) FILTER (WHERE ma) AS mastered
            FROM (SELECT bool_or(event_type = 'impression') AS imp, bool_or(event_type = 'start') AS st,
                         bool_or(event_type = 'complete') AS co,
                         bool_or(event_type = 'assess' AND value >= {PASS_SCORE}) AS ma
                  FROM ev GROUP BY user_id, item_id)""")
        r = df.iloc[0]
        rows = pd.DataFrame({"stage": ["recommended", "started", "completed", "mastered"],
                             "pairs": [int(r[c]) for c in ("recommended", "started", "completed", "mastered")]})
        top = max(int(rows["pairs"].iloc[0]), 1)
        rows["share_of_recommended"] = rows["pairs"] / top
        return Table.of("funnel", rows, "Distinct (mentee, resource) pairs reaching each stage; mastered = "
                                        f"assessed at {PASS_SCORE:g} or above.")
    return store.cached(("funnel",), build)


_ATTAINED = f"""
    WITH passed AS (
      SELECT e.user_id, s.skill_id, s.level, e.ts FROM events e JOIN item_skills s USING (item_id)
      WHERE e.event_type = 'assess' AND e.value >= {PASS_SCORE}),
    first_touch AS (
      SELECT e.user_id, s.skill_id, MIN(e.ts) AS first_ts FROM events e JOIN item_skills s USING (item_id)
      WHERE e.event_type <> 'impression' GROUP BY 1, 2),
    g AS (
      SELECT g.user_id, g.skill_id, g.level, g.deadline,
             (SELECT MIN(p.ts) FROM passed p WHERE p.user_id = g.user_id AND p.skill_id = g.skill_id
                AND p.level >= g.level) AS attained_ts,
             (SELECT MIN(p.ts) FROM passed p WHERE p.user_id = g.user_id AND p.skill_id = g.skill_id) AS evidence_ts
      FROM goals g)
    SELECT g.*, f.first_ts, date_diff('day', f.first_ts, g.evidence_ts) AS days_to_evidence
    FROM g LEFT JOIN first_touch f USING (user_id, skill_id)
"""


def goals(store: AnalyticsStore) -> Table:
    def build() -> Table:
        df = store.sql(f"""
            WITH a AS ({_ATTAINED})
            SELECT skill_id, COUNT(*) AS goals, COUNT(attained_ts) AS attained,
                   COUNT(attained_ts) / COUNT(*) AS attainment_rate, COUNT(evidence_ts) AS evidenced,
                   median(days_to_evidence) AS median_days_to_evidence,
                   SUM(CASE WHEN deadline IS NOT NULL AND attained_ts IS NULL AND deadline < ? THEN 1 ELSE 0 END)
                     AS overdue
            FROM a GROUP BY skill_id ORDER BY goals DESC, skill_id""", [store.clock().replace(tzinfo=None)])
        return Table.of("goals", df, "Goals per skill, how many were attained (a passed assessment at the goal "
                                     "level), how many have a passed assessment of the skill at any level "
                                     "(evidenced) and the median days from first touch to it, and open goals "
                                     "past their deadline.")
    return store.cached(("goals",), build)


def mentor_load(store: AnalyticsStore) -> Table:
    def build() -> Table:
        df = store.sql("""
            SELECT m.mentor_id, m.name, m.capacity, COUNT(a.user_id) AS mentees,
                   COUNT(a.user_id) / NULLIF(m.capacity, 0) AS load
            FROM mentors m LEFT JOIN assignment a USING (mentor_id)
            GROUP BY m.mentor_id, m.name, m.capacity ORDER BY load DESC, m.mentor_id""")
        return Table.of("mentor-load", df, "Mentees assigned (the persisted assignment) against each mentor's "
                                           "capacity; a load above 1 is over capacity.")
    return store.cached(("mentor-load",), build)


def skills_demand(store: AnalyticsStore) -> Table:
    def build() -> Table:
        df = store.sql("""
            WITH d AS (SELECT skill_id, COUNT(*) AS goals, SUM(GREATEST(level - self_level, 0)) AS gap_levels
                       FROM goals GROUP BY skill_id),
                 load AS (SELECT mentor_id, COUNT(*) AS n FROM assignment GROUP BY mentor_id),
                 s AS (SELECT ms.skill_id, COUNT(DISTINCT ms.mentor_id) AS mentors,
                              SUM(GREATEST(m.capacity - COALESCE(l.n, 0), 0)) AS free_places
                       FROM mentor_skills ms JOIN mentors m USING (mentor_id) LEFT JOIN load l USING (mentor_id)
                       WHERE ms.level >= 3 GROUP BY ms.skill_id)
            SELECT d.skill_id, k.name, d.goals, d.gap_levels, COALESCE(s.mentors, 0) AS mentors,
                   COALESCE(s.free_places, 0) AS free_places,
                   d.goals / GREATEST(COALESCE(s.mentors, 0), 1) AS goals_per_mentor
            FROM d LEFT JOIN s USING (skill_id) LEFT JOIN skills k USING (skill_id)
            ORDER BY goals_per_mentor DESC, d.skill_id""")
        return Table.of("skills-demand", df, "Demand (goals and levels still to gain over self-assessed levels) "
                                             "against supply (mentors at level 3+ and their free places).")
    return store.cached(("skills-demand",), build)


def cohorts(store: AnalyticsStore) -> Table:
    def build() -> Table:
        df = store.sql(f"""
            WITH start AS (SELECT user_id, CAST(date_trunc('month', MIN(ts)) AS DATE) AS cohort
                           FROM events GROUP BY user_id),
                 a AS ({_ATTAINED}),
                 per AS (SELECT user_id, MAX(CASE WHEN attained_ts IS NOT NULL THEN 1 ELSE 0 END) AS any_attained
                         FROM a GROUP BY user_id),
                 done AS (SELECT user_id, COUNT(DISTINCT item_id) AS completed FROM events
                          WHERE event_type = 'complete' GROUP BY user_id)
            SELECT s.cohort, COUNT(*) AS mentees, SUM(COALESCE(p.any_attained, 0)) AS attained,
                   AVG(COALESCE(d.completed, 0)) AS mean_completed
            FROM start s LEFT JOIN per p USING (user_id) LEFT JOIN done d USING (user_id)
            GROUP BY s.cohort ORDER BY s.cohort""")
        rows = []
        prev = None
        for r in df.itertuples(index=False):
            n, k = int(r.mentees), int(r.attained)
            lo, hi = wilson(k, n)
            rate = k / n if n else float("nan")
            diff = verdict = None
            if prev is not None and n and prev[0]:
                p0 = prev[1] / prev[0]
                diff = rate - p0
                se = math.sqrt(rate * (1 - rate) / n + p0 * (1 - p0) / prev[0])
                verdict = ("higher" if diff - Z95 * se > 0 else "lower" if diff + Z95 * se < 0
                           else "no clear difference")
            rows.append([r.cohort, n, k, rate, lo, hi, float(r.mean_completed), diff, verdict])
            prev = (n, k)
        out = pd.DataFrame(rows, columns=["cohort", "mentees", "attained", "attainment_rate", "ci_low", "ci_high",
                                          "mean_completed", "diff_vs_previous", "vs_previous"])
        return Table.of("cohorts", out, "Cohorts by start month: share of mentees with at least one goal attained "
                                        "(Wilson 95% interval); a difference from the previous cohort is claimed "
                                        "only when its 95% interval excludes zero.")
    return store.cached(("cohorts",), build)
