"""OULAD early-warning rows: only what is known at the cut, never a demographic column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.monitoring.early_warning import early_warning_rows, rule_flags
from analysis.monitoring.risk import DemographicFeatureError, check_no_demographics


def _tables():
    courses = pd.DataFrame({"code_module": ["AAA"], "code_presentation": ["2013J"], "module_presentation_length": [200]})
    regs = pd.DataFrame({"code_module": "AAA", "code_presentation": "2013J", "id_student": [1, 2, 3],
                         "date_registration": [-30.0, -5.0, -10.0], "date_unregistration": [np.nan, 20.0, 120.0]})
    info = pd.DataFrame({"code_module": "AAA", "code_presentation": "2013J", "id_student": [1, 2, 3],
                         "gender": ["F", "M", "F"], "region": ["x", "y", "z"], "highest_education": ["a", "b", "c"],
                         "imd_band": ["0-10%"] * 3, "age_band": ["0-35"] * 3, "disability": ["N", "Y", "N"],
                         "num_of_prev_attempts": [0, 1, 0], "studied_credits": [60, 120, 60],
                         "final_result": ["Pass", "Withdrawn", "Fail"]})
    assessments = pd.DataFrame({"code_module": "AAA", "code_presentation": "2013J", "id_assessment": [10, 11, 12],
                                "assessment_type": ["TMA", "TMA", "Exam"], "date": [19.0, 60.0, np.nan],
                                "weight": [10.0, 20.0, 100.0]})
    scores = pd.DataFrame({"id_student": [1, 1, 3], "id_assessment": [10, 11, 10], "date_submitted": [18, 58, 25],
                           "is_banked": 0, "score": [80.0, 30.0, 35.0]})
    clicks = pd.DataFrame({"code_module": "AAA", "code_presentation": "2013J", "id_student": [1, 1, 3, 3],
                           "id_site": [5, 6, 5, 5], "date": [-3, 40, 2, 49], "sum_click": [4, 2, 7, 1]})
    return dict(registrations=regs, info=info, courses=courses, assessments=assessments, scores=scores, clicks=clicks)


def test_rows_hold_only_what_is_known_at_the_cut():
    rows = early_warning_rows(fraction=0.25, **_tables())         # cut day 50
    assert list(rows.meta.user_id) == ["AAA-2013J:1", "AAA-2013J:3"]   # student 2 withdrew on day 20
    assert rows.y.tolist() == [0, 1]
    X = rows.X.set_index(rows.meta.user_id)
    a, c = X.loc["AAA-2013J:1"], X.loc["AAA-2013J:3"]
    assert (a.assess_due, a.assess_missed, a.assessments) == (1, 0, 1)   # the day-58 submission is after the cut
    assert (c.assess_late, c.assess_mean_delay, c.recent_fails) == (1, 6, 1)
    assert (a.clicks, c.clicks, c.clicks_before_start, a.clicks_before_start) == (6, 8, 0, 4)
    assert c.days_since_activity == 1 and a.days_since_activity == 10
    assert rule_flags(rows).tolist() == [0, 0]
    later = early_warning_rows(fraction=0.5, **_tables())        # cut day 100: the day-60 TMA is due
    assert later.X.set_index(later.meta.user_id).loc["AAA-2013J:3", "assess_missed"] == 1
    assert rule_flags(later).tolist() == [1, 1]                   # both silent since day 58/49


def test_no_demographic_column_reaches_the_feature_matrix():
    rows = early_warning_rows(fraction=0.25, **_tables())
    check_no_demographics(rows.X.columns)
    banned = {"gender", "region", "highest_education", "imd_band", "age_band", "disability"}
    assert not banned & set(rows.X.columns) and not banned & set(rows.meta.columns)
    # Values of the demographic columns change nothing.
    t = _tables()
    t["info"] = t["info"].assign(gender=["M", "F", "M"], disability=["Y", "N", "Y"])
    pd.testing.assert_frame_equal(early_warning_rows(fraction=0.25, **t).X, rows.X)
    with pytest.raises(DemographicFeatureError):
        type(rows)(rows.X.assign(imd_band=1.0), rows.y, rows.meta)
