"""Continuous monitoring of mentees: status signals, alerts with a next action, the at-risk model.

Pure like :mod:`recommender`: no I/O, no MLflow/Feast/BentoML, no clock (every status
is computed *at* a time the caller gives). The wiring (storage, REST, CLI, Feast,
MLflow) calls:

- :class:`StatusBook` (``fold_events``, ``fold_mastery``, ``status``) to keep every
  mentee's status current as events arrive, and :func:`statuses_at` / :func:`status_at`
  to compute the same statuses at past cuts from history (training rows, no leakage);
- :func:`evaluate_alerts` to turn statuses into :class:`Alert` objects with stable ids;
- :class:`AtRiskClassifier` (``fit``, ``predict_proba``, ``save``, ``load``) on
  :data:`FEATURE_NAMES` (:func:`feature_vector` of a status).

Signals and thresholds: ``docs/monitoring.md``.
"""

from analysis.monitoring.alerts import (
    ALERT_KINDS, INTERVENTION_KINDS, Alert, Intervention, alert_id, alerts_for, evaluate_alerts,
)
from analysis.monitoring.book import MASTERY_COLUMNS, StatusBook, event_arrays, status_at, statuses_at
from analysis.monitoring.config import DEMOGRAPHIC_COLUMNS, MonitorThresholds
from analysis.monitoring.inputs import Candidates, MentorContact, MentorOption, PlanStep, ResourceOption
from analysis.monitoring.risk import AtRiskClassifier, DemographicFeatureError, check_no_demographics
from analysis.monitoring.state import EVENT_CODE, MenteeState
from analysis.monitoring.status import (
    FEATURE_NAMES, CutError, GoalProgress, MenteeStatus, MentorStatus, SkillStruggle, StalledStep, feature_vector,
    snapshot,
)

__all__ = [
    "ALERT_KINDS", "INTERVENTION_KINDS", "Alert", "Intervention", "alert_id", "alerts_for", "evaluate_alerts",
    "MASTERY_COLUMNS", "StatusBook", "event_arrays", "status_at", "statuses_at",
    "DEMOGRAPHIC_COLUMNS", "MonitorThresholds",
    "Candidates", "MentorContact", "MentorOption", "PlanStep", "ResourceOption",
    "AtRiskClassifier", "DemographicFeatureError", "check_no_demographics",
    "EVENT_CODE", "MenteeState",
    "FEATURE_NAMES", "CutError", "GoalProgress", "MenteeStatus", "MentorStatus", "SkillStruggle", "StalledStep",
    "feature_vector", "snapshot",
]
