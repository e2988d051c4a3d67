"""OULAD early warning: predict Withdrawn or Fail from what is known at 10 / 25 / 50 % of a presentation.

    .venv/bin/python benchmarks/early_warning.py                 # all three cuts, ~5-10 minutes on 2 cores
    .venv/bin/python benchmarks/early_warning.py --fractions 0.25 --json benchmarks/results/early_warning.json

Train on the 2013 presentations, test on the 2014 ones. Enrolments already withdrawn
(``date_unregistration``) at the cut are left out. Hyper-parameters are chosen on an
inner time split of 2013 only (fit on 2013B, validate on 2013J); the models are then
refit on all of 2013 and scored on 2014 once. Compared side by side on the same rows:
the calibrated gradient-boosted :class:`AtRiskClassifier`, logistic regression on the
same features (median imputation + missing indicators, standardised), and the rule
"missed an assessment due by the cut, or silent 14 days". Reads the CSVs from
``--source`` (default ``../shared/datasets/oulad``); of studentInfo only ids,
final_result, num_of_prev_attempts and studied_credits are read.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from analysis.monitoring import AtRiskClassifier  # noqa: E402
from analysis.monitoring.early_warning import INFO_COLUMNS, EarlyWarningRows, early_warning_rows, rule_flags  # noqa: E402
from catalog.oulad import OULAD_ATTRIBUTION  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HGB_GRID = {"learning_rate": (0.03, 0.06), "max_leaf_nodes": (4, 7), "min_samples_leaf": (100, 200),
            "max_iter": (200,), "l2_regularization": (1.0,)}
LR_GRID = (0.01, 0.1, 1.0, 10.0)


def default_source() -> Path:
    """``$SKILLPATH_OULAD_DIR``, else ``shared/datasets/oulad`` beside the checkout (or beside its worktree folder)."""
    env = os.environ.get("SKILLPATH_OULAD_DIR")
    if env:
        return Path(env)
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "datasets" / "oulad").is_dir():
            return base / "shared" / "datasets" / "oulad"
    return ROOT.parent / "shared" / "datasets" / "oulad"


def read_tables(src: Path) -> dict[str, pd.DataFrame]:
    rd = lambda name, **kw: pd.read_csv(src / name, na_values="?", **kw)  # noqa: E731
    return {"registrations": rd("studentRegistration.csv.gz"), "courses": rd("courses.csv"),
            "info": rd("studentInfo.csv.gz", usecols=list(INFO_COLUMNS)),   # no demographic column is read
            "assessments": rd("assessments.csv"), "scores": rd("studentAssessment.csv.gz"),
            "clicks": rd("studentVle_complete.csv.gz")}


def with_module_rate(rows: EarlyWarningRows, train: np.ndarray) -> pd.DataFrame:
    """Add each module's share at risk, learnt on the training rows only (unseen modules: the overall share)."""
    rates = pd.Series(rows.y[train]).groupby(rows.meta["module"].to_numpy()[train]).mean()
    return rows.X.assign(module_rate=rows.meta["module"].map(rates).fillna(rows.y[train].mean()).to_numpy())


def precision_at_top(y: np.ndarray, score: np.ndarray, share: float = 0.10) -> float:
    """Precision among the top ``share`` by score; ties at the boundary count at their mean rate."""
    k = int(round(share * len(y)))
    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    cut = s_sorted[k - 1]
    above = score > cut
    tie = score == cut
    need = k - int(above.sum())
    hits = y[above].sum() + need * (y[tie].mean() if tie.any() else 0.0)
    return float(hits / k)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"auc": float(roc_auc_score(y, p)), "ap": float(average_precision_score(y, p)),
            "p_top10": precision_at_top(y, p), "brier": float(brier_score_loss(y, np.clip(p, 0, 1)))}


def logistic(C: float):
    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                         StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def tune(X: pd.DataFrame, y: np.ndarray, inner_fit: np.ndarray, inner_val: np.ndarray) -> tuple[dict, float, dict]:
    """Best HGB parameters and LR ``C`` by validation AUC on the inner split (2013B -> 2013J)."""
    scores = {}
    for values in itertools.product(*HGB_GRID.values()):
        params = dict(zip(HGB_GRID, values))
        m = HistGradientBoostingClassifier(**params, early_stopping=False, random_state=0)
        m.fit(X[inner_fit], y[inner_fit])
        scores[values] = roc_auc_score(y[inner_val], m.predict_proba(X[inner_val])[:, 1])
    best = dict(zip(HGB_GRID, max(scores, key=scores.get)))
    lr_scores = {}
    for C in LR_GRID:
        m = logistic(C).fit(X[inner_fit], y[inner_fit])
        lr_scores[C] = roc_auc_score(y[inner_val], m.predict_proba(X[inner_val])[:, 1])
    best_c = max(lr_scores, key=lr_scores.get)
    return best, best_c, {"hgb_inner_auc": max(scores.values()), "lr_inner_auc": lr_scores[best_c]}


def run_fraction(tables: dict[str, pd.DataFrame], fraction: float, *, inner_only: bool = False) -> dict:
    t0 = time.perf_counter()
    rows = early_warning_rows(fraction=fraction, **tables)
    build_s = time.perf_counter() - t0
    key = rows.meta["key"].to_numpy()
    year = np.array([k.split("-")[1][:4] for k in key])
    train, test = year == "2013", year == "2014"
    inner_fit = np.array([k.endswith("2013B") for k in key])
    inner_val = np.array([k.endswith("2013J") for k in key])
    y = rows.y
    X_inner = with_module_rate(rows, inner_fit).to_numpy(dtype=np.float64)
    best, best_c, inner = tune(X_inner, y, inner_fit, inner_val)
    if inner_only:
        return {"fraction": fraction, "hgb_params": best, "lr_C": best_c, **inner}
    X = with_module_rate(rows, train)
    t1 = time.perf_counter()
    hgb = AtRiskClassifier(**best, calibration="isotonic", cv=5, random_state=0).fit(X[train], y[train])
    fit_s = time.perf_counter() - t1
    lr = logistic(best_c).fit(X[train].to_numpy(), y[train])
    # The single look at 2014.
    out = {
        "fraction": fraction, "train_rows": int(train.sum()), "test_rows": int(test.sum()),
        "test_positive_share": float(y[test].mean()), "features": list(X.columns),
        "hgb_params": best, "lr_C": best_c, **inner, "build_seconds": build_s, "hgb_fit_seconds": fit_s,
        "hgb": metrics(y[test], hgb.predict_proba(X[test])[:, 1]),
        "logistic": metrics(y[test], lr.predict_proba(X[test].to_numpy())[:, 1]),
        "rule": metrics(y[test], rule_flags(rows)[test].astype(np.float64)),
        "rule_flagged_share": float(rule_flags(rows)[test].mean()),
    }
    with_log = X["has_click_log"].to_numpy() > 0
    if (test & with_log).any():
        sub = test & with_log
        out["hgb_click_log_presentations"] = metrics(y[sub], hgb.predict_proba(X[sub])[:, 1])
        out["test_rows_with_click_log"] = int(sub.sum())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, default=default_source())
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.10, 0.25, 0.50])
    ap.add_argument("--inner-only", action="store_true",
                    help="tune and report the inner 2013 split only; never touches 2014 (for development)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "early_warning.json")
    args = ap.parse_args(argv)
    tables = read_tables(args.source)
    results = []
    for f in args.fractions:
        r = run_fraction(tables, f, inner_only=args.inner_only)
        results.append(r)
        if args.inner_only:
            print(f"cut {f:.0%}: inner AUC HGB {r['hgb_inner_auc']:.3f} {r['hgb_params']}, LR {r['lr_inner_auc']:.3f}")
            continue
        print(f"\n## cut at {f:.0%}: train {r['train_rows']} enrolments (2013), test {r['test_rows']} (2014), "
              f"{r['test_positive_share']:.1%} Withdrawn or Fail")
        print(f"inner split (2013B -> 2013J) AUC: HGB {r['hgb_inner_auc']:.3f} {r['hgb_params']}, "
              f"LR {r['lr_inner_auc']:.3f} C={r['lr_C']}")
        print("| model | AUC | average precision | precision top 10 % | Brier |\n| --- | --- | --- | --- | --- |")
        for name in ("hgb", "logistic", "rule"):
            m = r[name]
            print(f"| {name} | {m['auc']:.3f} | {m['ap']:.3f} | {m['p_top10']:.3f} | {m['brier']:.3f} |")
        sys.stdout.flush()
    if args.inner_only:
        return 0
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"attribution": OULAD_ATTRIBUTION, "results": results}, indent=2))
    print(f"\n{OULAD_ATTRIBUTION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
