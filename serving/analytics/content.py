"""The curator's analytics: freshness histogram, coverage per skill and level, stale items' replacements,
content effectiveness.

Effectiveness compares, per resource, the mean later assessment score on its main skill of mentees who
completed it with that of mentees assessed on the same skill who did not. It is observational: mentees
choose what they complete, so the difference is an association, not the effect of the resource (the
table says so in its notes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving.analytics.store import AnalyticsStore, Table

__all__ = ["freshness_histogram", "coverage", "replacements", "effectiveness", "EFFECTIVENESS_CAVEAT"]

EFFECTIVENESS_CAVEAT = ("Observational: mentees choose what they complete, so a difference is an association, "
                        "not the resource's effect; resources with fewer than 5 completers are left out.")


def freshness_histogram(store: AnalyticsStore, bins: int = 10) -> Table:
    def build() -> Table:
        f = store.freshness()[store.world.catalog.active]
        counts, edges = np.histogram(f, bins=bins, range=(0.0, 1.0))
        df = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "resources": counts.astype(int)})
        return Table.of("freshness", df, "Active resources by freshness today (1 = just published or updated).")
    return store.cached(("freshness", bins), build)


def coverage(store: AnalyticsStore, threshold: float = 0.5) -> Table:
    def build() -> Table:
        df = store.sql("""
                WITH lv AS (SELECT s.skill_id, s.level, COUNT(*) FILTER (WHERE f.active) AS active,
                                   COUNT(*) FILTER (WHERE f.active AND f.freshness >= ?) AS fresh
                            FROM item_skills s JOIN fresh f USING (item_id) GROUP BY 1, 2),
                     demand AS (SELECT skill_id, COUNT(*) AS goals FROM goals GROUP BY 1)
                SELECT k.skill_id, k.name, COALESCE(d.goals, 0) AS goals,
                       SUM(lv.active) AS active_resources, SUM(lv.fresh) AS fresh_resources,
                       string_agg(CASE WHEN COALESCE(lv.fresh, 0) = 0 THEN CAST(lv.level AS VARCHAR) END, ';'
                                  ORDER BY lv.level) AS levels_without_fresh
                FROM skills k LEFT JOIN lv USING (skill_id) LEFT JOIN demand d USING (skill_id)
                GROUP BY k.skill_id, k.name, d.goals
                HAVING COALESCE(SUM(lv.fresh), 0) = 0 OR levels_without_fresh IS NOT NULL
                ORDER BY goals DESC, fresh_resources, k.skill_id""", [threshold])
        return Table.of("coverage", df, f"Skills with a level lacking fresh content (freshness >= {threshold:g}), "
                                        "most demanded (goals) first.")
    return store.cached(("coverage", threshold), build)


def replacements(store: AnalyticsStore, item_ids: list[str], threshold: float = 0.5) -> dict[str, str | None]:
    """For each stale item, the freshest active resource teaching its main skill at the nearest level."""
    def build() -> dict[str, str | None]:
        df = store.sql("""
                WITH stale AS (SELECT i.item_id, i.main_skill, s.level FROM items i
                               JOIN item_skills s ON s.item_id = i.item_id AND s.skill_id = i.main_skill),
                     cand AS (SELECT s.item_id, s.skill_id, s.level, f.freshness FROM item_skills s
                              JOIN fresh f USING (item_id) WHERE f.active AND f.freshness >= ?)
                SELECT st.item_id, arg_min(c.item_id, abs(c.level - st.level) * 10 - c.freshness) AS replacement
                FROM stale st JOIN cand c ON c.skill_id = st.main_skill AND c.item_id <> st.item_id
                GROUP BY st.item_id""", [threshold])
        return dict(zip(df["item_id"], df["replacement"]))
    table = store.cached(("replacements", threshold), build)
    return {i: table.get(i) for i in item_ids}


def effectiveness(store: AnalyticsStore, limit: int = 50) -> Table:
    def build() -> Table:
        df = store.sql("""
            WITH a AS (SELECT e.user_id, i.main_skill AS skill_id, e.ts, e.value FROM events e
                       JOIN items i USING (item_id) WHERE e.event_type = 'assess'),
                 c AS (SELECT e.user_id, e.item_id, i.main_skill AS skill_id, MIN(e.ts) AS ts FROM events e
                       JOIN items i USING (item_id) WHERE e.event_type = 'complete' GROUP BY 1, 2, 3),
                 after AS (SELECT c.item_id, c.skill_id, AVG(a.value) AS score, COUNT(DISTINCT a.user_id) AS n
                           FROM c JOIN a ON a.user_id = c.user_id AND a.skill_id = c.skill_id AND a.ts > c.ts
                           GROUP BY 1, 2 HAVING COUNT(DISTINCT a.user_id) >= 5),
                 base AS (SELECT c2.item_id, AVG(a.value) AS score, COUNT(DISTINCT a.user_id) AS n
                          FROM (SELECT DISTINCT item_id, skill_id FROM after) c2
                          JOIN a ON a.skill_id = c2.skill_id
                          WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.user_id = a.user_id AND c.item_id = c2.item_id)
                          GROUP BY 1)
            SELECT after.item_id, i.title, after.skill_id, after.n AS completers_assessed,
                   after.score AS mean_score_after, base.n AS others_assessed, base.score AS mean_score_others,
                   after.score - base.score AS difference
            FROM after JOIN base USING (item_id) JOIN items i USING (item_id)
            ORDER BY difference DESC, after.item_id LIMIT ?""", [limit])
        return Table.of("effectiveness", df, EFFECTIVENESS_CAVEAT)
    return store.cached(("effectiveness", limit), build)
