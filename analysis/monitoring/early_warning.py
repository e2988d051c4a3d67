"""OULAD early warning: what is known about each enrolment at a fraction of its presentation.

The tables are OULAD's own (read by the caller, ``benchmarks/early_warning.py``). For a
cut at ``fraction`` of a presentation's length (day ``floor(fraction * length)``), each
enrolment still registered at the cut becomes one row of

- the monitor's own status features (:data:`~analysis.monitoring.status.FEATURE_NAMES`
  that apply: engagement, silence, assessments and struggles), computed by the same
  fold as the live status from the enrolment's clicks and submissions up to the cut;
- assessment timing: assessments due by the cut, submitted, missed, late, the mean
  delay, the weighted score so far;
- registration (day, credits studied, previous attempts) and clicks where the click log
  has the presentation.

Labels: final result Withdrawn or Fail. Of ``studentInfo`` only ids, ``final_result``,
``num_of_prev_attempts`` and ``studied_credits`` are ever read (:data:`INFO_COLUMNS`):
gender, region, highest_education, imd_band, age_band and disability never reach a row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.monitoring.book import statuses_at
from analysis.monitoring.config import DAY_US, MonitorThresholds
from analysis.monitoring.risk import check_no_demographics

__all__ = ["INFO_COLUMNS", "STATUS_FEATURES", "EarlyWarningRows", "early_warning_rows", "rule_flags", "AT_RISK"]

INFO_COLUMNS = ("code_module", "code_presentation", "id_student", "final_result", "num_of_prev_attempts",
                "studied_credits")
AT_RISK = ("Withdrawn", "Fail")
# Status features that mean something on OULAD (no goals with a mastery series, no plans, no mentors).
STATUS_FEATURES = (
    "active_days_7d", "active_days_per_week", "active_days_per_week_prev", "engagement_trend",
    "days_since_activity", "tenure_days", "views_window", "assessments_window", "assessments",
    "assessment_fail_rate", "recent_score_mean", "recent_score_min", "recent_fails", "worst_skill_failed",
)
OULAD_PASS = 40.0          # the Open University's pass mark
_BASE_US = 946_684_800_000_000 + 400 * DAY_US   # day 0 of every presentation on one relative clock


class EarlyWarningRows:
    """Rows at one cut: ``X`` (features), ``y`` (1 = Withdrawn or Fail), ``meta`` (ids, cut, rule parts)."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, meta: pd.DataFrame) -> None:
        check_no_demographics(X.columns)
        self.X, self.y, self.meta = X, y, meta


def _key(df: pd.DataFrame) -> pd.Series:
    return df["code_module"] + "-" + df["code_presentation"]


def early_warning_rows(*, fraction: float, registrations: pd.DataFrame, info: pd.DataFrame,
                       courses: pd.DataFrame, assessments: pd.DataFrame, scores: pd.DataFrame,
                       clicks: pd.DataFrame | None = None, presentations: list[str] | None = None,
                       ) -> EarlyWarningRows:
    """Features and labels of every enrolment still registered at ``fraction`` of its presentation."""
    info = info[[c for c in INFO_COLUMNS if c in info.columns]]   # never more than the allowed columns
    length = dict(zip(_key(courses), courses["module_presentation_length"].astype(int)))
    reg = registrations.assign(key=_key(registrations))
    if presentations is not None:
        reg = reg[reg["key"].isin(presentations)]
    reg = reg.merge(info, on=["code_module", "code_presentation", "id_student"], how="left")
    reg["cut_day"] = np.floor(fraction * reg["key"].map(length)).astype(int)
    gone = reg["date_unregistration"].notna() & (reg["date_unregistration"] <= reg["cut_day"])
    reg = reg[~gone].reset_index(drop=True)
    reg["user_id"] = reg["key"] + ":" + reg["id_student"].astype(str)
    cut_day = dict(zip(reg["user_id"], reg["cut_day"]))

    # Assessments due by the cut and what each enrolment submitted by then.
    ass = assessments.assign(key=_key(assessments))
    ass = ass[ass["key"].isin(set(reg["key"])) & (ass["assessment_type"] != "Exam")]
    sub = scores.merge(ass[["id_assessment", "key", "date", "weight"]], on="id_assessment")
    sub["user_id"] = sub["key"] + ":" + sub["id_student"].astype(str)
    sub = sub[sub["user_id"].isin(cut_day.keys())]
    sub = sub[sub["date_submitted"] <= sub["user_id"].map(cut_day)]
    due = reg[["user_id", "key", "cut_day"]].merge(ass[["key", "id_assessment", "date", "weight"]], on="key")
    due = due[due["date"] <= due["cut_day"]]
    due = due.merge(sub[["user_id", "id_assessment", "date_submitted", "score"]], on=["user_id", "id_assessment"],
                    how="left")
    due["missed"] = due["date_submitted"].isna()
    due["late"] = due["date_submitted"] > due["date"]
    due["delay"] = due["date_submitted"] - due["date"]
    due["wscore"] = due["score"].fillna(0.0) * due["weight"]
    g = due.groupby("user_id")
    timing = pd.DataFrame({
        "due": g.size(), "missed": g["missed"].sum(), "late": g["late"].sum(), "mean_delay": g["delay"].mean(),
        "weighted_score": g["wscore"].sum() / g["weight"].sum().replace(0, np.nan),
    })
    timing = timing.reindex(reg["user_id"])
    timing[["due", "missed", "late"]] = timing[["due", "missed", "late"]].fillna(0)

    # The monitor's own statuses, from the same fold as the live service.
    events = [_assess_events(sub)]
    if clicks is not None:
        clk = clicks.assign(key=_key(clicks))
        clk["user_id"] = clk["key"] + ":" + clk["id_student"].astype(str)
        clk = clk[clk["user_id"].isin(cut_day.keys())]
        clk = clk[clk["date"] <= clk["user_id"].map(cut_day)]
        events.append(_view_events(clk))
        click_feats = _click_features(clk, reg)
        with_log = set(clk["key"])
    else:
        click_feats, with_log = None, set()
    ev = pd.concat(events, ignore_index=True)
    cuts = pd.DataFrame({"user_id": reg["user_id"],
                         "at": pd.to_datetime(_BASE_US + reg["cut_day"].to_numpy() * DAY_US, unit="us", utc=True)})
    item_skill = {f"assess-{a}": k.split("-")[0] for a, k in zip(ass["id_assessment"], ass["key"])}
    th = MonitorThresholds(pass_score=OULAD_PASS)
    status = statuses_at(ev, cuts, item_skill=item_skill, thresholds=th)[list(STATUS_FEATURES)]

    X = pd.DataFrame({
        "registration_day": reg["date_registration"].to_numpy(dtype=np.float64),
        "studied_credits": reg["studied_credits"].to_numpy(dtype=np.float64),
        "prev_attempts": reg["num_of_prev_attempts"].to_numpy(dtype=np.float64),
        "cut_day": reg["cut_day"].to_numpy(dtype=np.float64),
        "has_click_log": reg["key"].isin(with_log).to_numpy(dtype=np.float64),
    })
    for c in ("due", "missed", "late", "mean_delay", "weighted_score"):
        X[f"assess_{c}"] = timing[c].to_numpy(dtype=np.float64)
    X = pd.concat([X, status.reset_index(drop=True)], axis=1)
    if click_feats is not None:
        X = pd.concat([X, click_feats.reset_index(drop=True)], axis=1)
    y = reg["final_result"].isin(AT_RISK).to_numpy(dtype=np.int64)
    meta = pd.DataFrame({"user_id": reg["user_id"], "key": reg["key"], "module": reg["code_module"],
                         "cut_day": reg["cut_day"], "missed_any": X["assess_missed"].to_numpy() > 0,
                         "days_since_activity": status["days_since_activity"].to_numpy()})
    return EarlyWarningRows(X, y, meta)


def rule_flags(rows: EarlyWarningRows, *, silence_days: float = 14.0) -> np.ndarray:
    """The baseline rule: missed an assessment due by the cut, or silent ``silence_days`` (no activity ever counts)."""
    silent = rows.meta["days_since_activity"].fillna(np.inf).to_numpy() >= silence_days
    return (rows.meta["missed_any"].to_numpy() | silent).astype(np.int64)


def _assess_events(sub: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": sub["user_id"].to_numpy(dtype=object),
        "item_id": ("assess-" + sub["id_assessment"].astype(str)).to_numpy(dtype=object),
        "event_type": "assess", "value": sub["score"].to_numpy(dtype=np.float64),
        "timestamp": pd.to_datetime(_BASE_US + sub["date_submitted"].to_numpy(dtype=np.int64) * DAY_US, unit="us",
                                    utc=True),
    }).dropna(subset=["value"])


def _view_events(clk: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": clk["user_id"].to_numpy(dtype=object),
        "item_id": ("vle-" + clk["id_site"].astype(str)).to_numpy(dtype=object),
        "event_type": "view", "value": np.nan,
        "timestamp": pd.to_datetime(_BASE_US + clk["date"].to_numpy(dtype=np.int64) * DAY_US, unit="us", utc=True),
    })


def _click_features(clk: pd.DataFrame, reg: pd.DataFrame) -> pd.DataFrame:
    """Click totals by the cut (NaN where the presentation has no click log)."""
    recent = clk["date"] > clk["user_id"].map(dict(zip(reg["user_id"], reg["cut_day"]))) - 14
    g = clk.groupby("user_id")
    out = pd.DataFrame({
        "clicks": g["sum_click"].sum(),
        "clicks_14d": clk[recent].groupby("user_id")["sum_click"].sum(),
        "clicks_before_start": clk[clk["date"] < 0].groupby("user_id")["sum_click"].sum(),
        "click_days": g["date"].nunique(),
        "sites": g["id_site"].nunique(),
    }).reindex(reg["user_id"])
    has_log = reg["key"].isin(set(clk["key"])).to_numpy()
    out = out.fillna(0.0)
    out[~has_log] = np.nan
    return out
