"""SkillPath models as MLflow pyfunc models, without pickling any model state.

A logged model holds two artifact directories and a code file:

- ``model/``: the :meth:`Recommender.save` directory (``arrays.npz`` + ``model.json``);
- ``extras/extras.npz``: the training history (CSR confidences, for models that score
  from a history row such as EASE), the items each mentee must not be shown again
  (seen or dismissed) and item popularity (the list for mentees the model never saw: the
  popularity baseline with its tuned recency half-life);
- ``code/skillpath_model.py`` (models-from-code): it builds :class:`SkillPathPyfunc`
  by importing this module, so MLflow pickles nothing.

The sha256 of both directories is in the model config (``model_sha256``,
``extras_sha256``) and in the registry version's tags; :meth:`SkillPathPyfunc.load_context`
refuses an artifact whose checksum does not match (:class:`IntegrityError`).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

with warnings.catch_warnings():  # MLflow's own pyfunc classes warn about type hints on import
    warnings.simplefilter("ignore", UserWarning)
    from mlflow.pyfunc.model import PythonModel

from catalog.errors import IntegrityError
from recommender.interactions import Interactions
from recommender.models import Recommender, load_model
from recommender.topk import topk

__all__ = ["ENTRY_FILE", "EXTRAS_FILE", "Extras", "write_extras", "read_extras", "recommend_ids",
           "SkillPathPyfunc", "signature"]

ENTRY_FILE = Path(__file__).with_name("skillpath_model.py")
EXTRAS_FILE = "extras.npz"


class Extras:
    """What serving a batch needs besides the model: history rows, banned items, popularity."""

    def __init__(self, history: sp.csr_matrix, banned: sp.csr_matrix, popularity: NDArray[np.float32]) -> None:
        self.history, self.banned, self.popularity = history, banned, popularity

    @classmethod
    def from_interactions(cls, train: Interactions, *, popularity: NDArray[np.floating] | None = None) -> "Extras":
        """``popularity`` (default: mentees per item, all-time) ranks items for mentees the model never saw."""
        banned = sp.csr_matrix(sp.csr_matrix(train.seen, dtype=bool) + sp.csr_matrix(train.dismissed, dtype=bool))
        if popularity is None:
            popularity = np.asarray((train.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
        return cls(sp.csr_matrix(train.matrix, dtype=np.float32), banned, np.asarray(popularity, np.float32))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_extras(directory: str | Path, extras: Extras) -> str:
    """Write ``extras.npz`` (numeric arrays only) into ``directory``; return its sha256."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    h, b = extras.history, sp.csr_matrix(extras.banned, dtype=bool)
    np.savez(d / EXTRAS_FILE, shape=np.asarray(h.shape, np.int64), history_data=h.data.astype(np.float32),
             history_indices=h.indices.astype(np.int32), history_indptr=h.indptr.astype(np.int64),
             banned_indices=b.indices.astype(np.int32), banned_indptr=b.indptr.astype(np.int64),
             popularity=np.asarray(extras.popularity, np.float32))
    return _sha256(d / EXTRAS_FILE)


def read_extras(directory: str | Path, *, expected_sha256: str) -> Extras:
    """Read ``extras.npz`` back, refusing it unless its sha256 is ``expected_sha256``."""
    path = Path(directory) / EXTRAS_FILE
    digest = _sha256(path)
    if digest != expected_sha256:
        raise IntegrityError(f"{path}: sha256 {digest} does not match the recorded {expected_sha256}")
    with np.load(path, allow_pickle=False) as z:
        shape = tuple(int(x) for x in z["shape"])
        history = sp.csr_matrix((z["history_data"], z["history_indices"], z["history_indptr"]), shape=shape)
        banned = sp.csr_matrix((np.ones(len(z["banned_indices"]), bool), z["banned_indices"], z["banned_indptr"]),
                               shape=shape)
        return Extras(history, banned, z["popularity"].copy())


def recommend_ids(model: Recommender, extras: Extras, user_ids: list[str], k: int) -> list[list[str]]:
    """Top-``k`` item ids per user: the model for known mentees (seen and dismissed items
    skipped), popularity for mentees it never saw."""
    users, items = model.id_maps_["users"], model.id_maps_["items"]
    idx = users.indices(user_ids, missing="-1")
    out: list[list[str]] = [[] for _ in user_ids]
    known = np.flatnonzero(idx >= 0)
    if len(known):
        scores = model.score(idx[known], extras.history[idx[known]])
        for row, pos in enumerate(known):
            banned = np.zeros(scores.shape[1], dtype=bool)
            banned[extras.banned[idx[pos]].indices] = True
            out[pos] = items.to_ids(topk(scores[row], k, allow=~banned)[0])
    unknown = np.flatnonzero(idx < 0)
    if len(unknown):
        fallback = items.to_ids(topk(extras.popularity, k)[0])
        for pos in unknown:
            out[pos] = list(fallback)
    return out


class SkillPathPyfunc(PythonModel):
    """``predict(DataFrame[user_id], params={"k": 10}) -> DataFrame[user_id, item_ids]``."""

    def load_context(self, context: Any) -> None:
        cfg = dict(context.model_config or {})
        if not cfg.get("model_sha256") or not cfg.get("extras_sha256"):
            raise IntegrityError("model config lacks model_sha256/extras_sha256; refusing an unverifiable model")
        self.model = load_model(context.artifacts["model"], expected_sha256=cfg["model_sha256"])
        self.extras = read_extras(context.artifacts["extras"], expected_sha256=cfg["extras_sha256"])
        self.default_k = int(cfg.get("k", 10))

    # A DataFrame hint: MLflow derives no schema from it (the signature declares the input
    # and the ``k`` param) and does not warn about a missing hint.
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None,
                ) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        k = int((params or {}).get("k", self.default_k))
        user_ids = frame["user_id"].astype(str).tolist()
        return pd.DataFrame({"user_id": user_ids, "item_ids": recommend_ids(self.model, self.extras, user_ids, k)})


def signature(k: int = 10):
    """Input ``user_id`` (string), param ``k`` (long, default ``k``): MLflow drops undeclared params."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("string", "user_id")]),
                          params=ParamSchema([ParamSpec("k", "long", int(k))]))
