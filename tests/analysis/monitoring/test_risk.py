"""The at-risk model: calibrated, estimator-shaped, saved without pickle, blind to demographics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.monitoring import FEATURE_NAMES, AtRiskClassifier, DemographicFeatureError, check_no_demographics
from catalog.errors import ConfigError, IntegrityError, NotReadyError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    logit = 1.5 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + np.isnan(X[:, 2])
    y = (rng.random(1500) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(X, columns=[f"f{k}" for k in range(5)]), y


@pytest.fixture(scope="module")
def model(data):
    X, y = data
    return AtRiskClassifier(max_iter=40, cv=3).fit(X, y)


def test_predictions_are_scikit_learns_and_calibrated(model, data):
    X, y = data
    p = model.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], model.sklearn_model_.predict_proba(X.to_numpy())[:, 1], atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert abs(p[:, 1].mean() - y.mean()) < 0.03           # calibrated on average
    order = np.argsort(p[:, 1])
    assert y[order[-300:]].mean() > y[order[:300]].mean() + 0.4
    assert model.get_params()["cv"] == 3 and model.feature_names_ == list(X.columns)


def test_save_load_round_trip_without_pickle(model, data, tmp_path):
    X, _ = data
    path = model.save(tmp_path / "risk.npz")
    loaded = AtRiskClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with np.load(path, allow_pickle=False) as z:            # plain numeric arrays only
        assert all(z[k].dtype != object for k in z.files)
    meta = json.loads((tmp_path / "risk.npz.json").read_text())
    assert meta["feature_names"] == list(X.columns) and len(meta["sha256"]) == 64
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="sha256"):
        AtRiskClassifier.load(path)


def test_columns_are_taken_by_name_and_validated(model, data):
    X, _ = data
    np.testing.assert_array_equal(model.predict_proba(X[X.columns[::-1]]), model.predict_proba(X))
    with pytest.raises(Exception, match="f0"):
        model.predict_proba(X.drop(columns="f0"))
    with pytest.raises(NotReadyError):
        AtRiskClassifier().predict_proba(X)
    with pytest.raises(ConfigError, match="0/1"):
        AtRiskClassifier().fit(X, np.full(len(X), 2))
    with pytest.raises(ConfigError, match="calibration"):
        AtRiskClassifier(calibration="magic").fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("column", ["gender", "Region", "highest_education", "imd_band", "age_band",
                                    "disability", "gender_M", "IMD band"])
def test_a_demographic_column_never_reaches_the_model(data, column):
    X, y = data
    with pytest.raises(DemographicFeatureError, match="demographic"):
        AtRiskClassifier(max_iter=5).fit(X.assign(**{column: 1.0}), y)
    with pytest.raises(DemographicFeatureError):
        check_no_demographics([column])


def test_the_status_features_hold_no_demographic_attribute():
    check_no_demographics(FEATURE_NAMES)
    check_no_demographics(["studied_credits", "num_of_prev_attempts", "registration_day"])


def test_a_feature_with_no_value_at_all_is_fit_and_ignored(data, model):
    """Regression: mentor ratings are all NaN where no session is recorded; the booster's binning used to fail."""
    X, y = data
    blank = X.assign(f5=np.nan)
    m = AtRiskClassifier(max_iter=40, cv=3).fit(blank, y)
    p = m.predict_proba(blank)[:, 1]
    np.testing.assert_allclose(p, model.predict_proba(X)[:, 1], atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(blank.assign(f5=3.0))[:, 1], p, atol=1e-12)
