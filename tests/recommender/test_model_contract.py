"""The contract every recommender passes (one mixin, one subclass per model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from catalog.errors import ConfigError, IntegrityError, NotReadyError
from recommender.features import item_tag_matrix, user_tag_matrix
from recommender.models import MODELS, load_model, make_model
from recommender.models.artifact import ARRAYS_FILE, MANIFEST_FILE, sha256_file
from recommender.models.base import Recommender
from recommender.models.factor import FactorRecommender
from catalog.schema import Goal, Mentee, Resource, SkillLevel


class ModelContract:
    """Mixin: subclasses set ``name`` and ``params`` (small, fast, seeded)."""

    name: str
    params: dict[str, Any] = {}

    def make(self) -> Recommender:
        return make_model(self.name, **self.params)

    def fitted(self, blocks) -> Recommender:
        m = self.make()
        itf, uf = blocks.features.for_model(m)
        return m.fit(blocks.train, item_features=itf, user_features=uf)

    def user_feature_row(self, blocks, model: Recommender, mentee: Mentee):
        """Features of a mentee the model never saw (identity column absent)."""
        if model.feature_kind == "tags":
            return user_tag_matrix([mentee], _ids([mentee.user_id]), names=blocks.features.user_tags.names).matrix
        if model.feature_kind == "skills":
            from recommender.features import user_skill_matrix

            return user_skill_matrix([mentee], _ids([mentee.user_id]), blocks.data.world.catalog.skill_ids).matrix
        return None

    # ------------------------------------------------------------------ shape
    def test_estimator_shape(self, blocks):
        m = self.make()
        assert not m.is_fitted
        assert m.get_params() == self.make().get_params()
        with pytest.raises(NotReadyError):
            m.score([0], blocks.train.matrix[0])
        assert m.fit(blocks.train, **dict(zip(("item_features", "user_features"),
                                               blocks.features.for_model(m)))) is m
        assert (m.n_users_, m.n_items_) == blocks.train.shape
        with pytest.raises(ConfigError):
            m.set_params(no_such_param=1)

    def test_shapes_and_dtypes(self, blocks):
        m = self.fitted(blocks)
        users = np.arange(5)
        s = m.score(users, blocks.train.matrix[users])
        assert s.shape == (5, blocks.train.shape[1]) and s.dtype == np.float32 and np.isfinite(s).all()
        v = m.fold_in(blocks.train.matrix[0])
        assert v.ndim == 1 and v.dtype == np.float32
        if isinstance(m, FactorRecommender):
            assert m.user_factors_.dtype == np.float32 and m.user_factors_.flags.c_contiguous
            assert m.item_factors_.dtype == np.float32 and m.item_factors_.flags.c_contiguous
            assert m.item_factors_.shape[0] == m.n_items_ and m.user_factors_.shape[0] == m.n_users_
            assert m.user_factors_.shape[1] == m.item_factors_.shape[1] == v.shape[0]
            expected = m.user_factors_[users] @ m.item_factors_.T + (0 if m.item_bias_ is None else m.item_bias_)
            np.testing.assert_allclose(s, expected, rtol=1e-5, atol=1e-5)

    def test_deterministic_with_seed(self, blocks):
        users = np.arange(10)
        a = self.fitted(blocks).score(users, blocks.train.matrix[users])
        b = self.fitted(blocks).score(users, blocks.train.matrix[users])
        np.testing.assert_array_equal(a, b)

    def test_history_with_wrong_width_is_refused(self, blocks):
        m = self.fitted(blocks)
        with pytest.raises(ConfigError):
            m.recommend(0, sp.csr_matrix((1, m.n_items_ + 3)), 5)

    # --------------------------------------------------------------- filters
    def test_never_recommends_seen_excluded_or_dismissed(self, blocks):
        m = self.fitted(blocks)
        n = m.n_items_
        for u in range(0, 20, 3):
            row = blocks.train.matrix[u]
            dismissed = np.array([(u * 7) % n, (u * 7 + 1) % n])
            ids, scores = m.recommend(u, row, k=n, exclude=dismissed)
            banned = set(row.indices) | set(dismissed)
            assert not banned & set(ids.tolist())
            assert len(ids) == n - len(banned) and len(set(ids.tolist())) == len(ids)
            assert np.all(np.diff(scores) <= 0)
            mask = np.zeros(n, bool)
            mask[dismissed] = True
            ids2, _ = m.recommend(u, row, k=5, exclude=mask)
            assert not set(ids2.tolist()) & banned
            # filter_seen=False lets history through but never excluded items
            ids3, _ = m.recommend(u, row, k=n, exclude=dismissed, filter_seen=False)
            assert len(ids3) == n - len(set(dismissed)) and not set(ids3.tolist()) & set(dismissed)

    def test_interactions_exclusions_cover_dismissed(self, blocks):
        m = self.fitted(blocks)
        tr = blocks.train
        ex = tr.exclusions(0)
        ids, _ = m.recommend(0, tr.history(0), k=m.n_items_, exclude=ex)
        assert not set(ids.tolist()) & set(ex.tolist())

    # ------------------------------------------------------------ cold start
    def test_cold_user(self, blocks):
        m = self.fitted(blocks)
        ids, scores = m.recommend(-1, sp.csr_matrix((1, m.n_items_)), k=5)
        assert len(ids) == 5 and np.isfinite(scores).all()
        if m.feature_kind is not None:
            # A brand-new mentee whose goal is block 2: features alone point at block 2.
            newbie = Mentee("new-user", (Goal("block2", 4),), (SkillLevel("block2", 1),))
            row = self.user_feature_row(blocks, m, newbie)
            ids, _ = m.recommend(-1, None, k=5, user_features_row=row)
            in_block = np.isin(ids, blocks.block_items(2)).mean()
            assert in_block >= 0.8, (ids, in_block)

    def test_new_item(self, blocks):
        m = self.fitted(blocks)
        n0 = m.n_items_
        rows = self.new_item_rows(blocks, m)
        new = m.add_items(rows, n=None if rows is not None else 1)
        assert new.tolist() == [n0] and m.n_items_ == n0 + 1
        u = blocks.user_of_block(1)
        s = m.score([u], blocks.train.matrix[u])
        assert s.shape == (1, n0 + 1) and np.isfinite(s).all()
        ids, _ = m.recommend(u, blocks.train.matrix[u], k=n0 + 1)
        assert n0 in ids
        if m.feature_kind is not None:
            # The new item teaches block 1: a block-1 mentee ranks it above most other-block items.
            others = np.setdiff1d(np.arange(n0), blocks.block_items(1))
            assert s[0, n0] > np.quantile(s[0, others], 0.75)

    def new_item_rows(self, blocks, m: Recommender):
        res = Resource("b1-new", "new", "article", (SkillLevel("block1", 2),), blocks.data.start, difficulty=2)
        if m.feature_kind == "tags":
            return item_tag_matrix([res], names=blocks.features.item_tags.names).matrix
        if m.feature_kind == "skills":
            j = blocks.data.world.catalog.skill_ids.index("block1")
            return sp.csr_matrix(([2.0], ([0], [j])), shape=(1, blocks.data.world.catalog.n_skills))
        return None

    # ------------------------------------------------------------- save/load
    def test_save_load_round_trip(self, blocks, tmp_path: Path):
        m = self.fitted(blocks)
        digest = m.save(tmp_path / "m", id_maps={"users": blocks.users, "items": blocks.items})
        assert len(digest) == 64
        loaded = load_model(tmp_path / "m", expected_sha256=digest)
        assert type(loaded) is type(m) and loaded.get_params() == m.get_params()
        assert loaded.sha256_ == digest
        assert loaded.id_maps_["items"].to_list() == blocks.items.to_list()
        users = np.arange(8)
        np.testing.assert_array_equal(m.score(users, blocks.train.matrix[users]),
                                      loaded.score(users, blocks.train.matrix[users]))
        row = blocks.train.matrix[3]
        np.testing.assert_array_equal(m.fold_in(row), loaded.fold_in(row))
        np.testing.assert_array_equal(m.recommend(-1, row, 5)[0], loaded.recommend(-1, row, 5)[0])
        assert type(m).load(tmp_path / "m").n_items_ == m.n_items_
        # Saving the same model twice gives the same checksum.
        assert m.save(tmp_path / "m2", id_maps={"users": blocks.users, "items": blocks.items}) == digest

    def test_tampered_artifact_is_refused(self, blocks, tmp_path: Path):
        m = self.fitted(blocks)
        path = tmp_path / "m"
        digest = m.save(path)
        arrays = dict(np.load(path / ARRAYS_FILE, allow_pickle=False))
        name = next(k for k, v in arrays.items() if v.size)
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] += 1.0
        np.savez(path / ARRAYS_FILE, **arrays)
        with pytest.raises(IntegrityError):
            load_model(path)
        # A manifest re-signed for the new arrays still fails the recorded checksum ...
        manifest = json.loads((path / MANIFEST_FILE).read_text())
        manifest["arrays_sha256"] = sha256_file(path / ARRAYS_FILE)
        (path / MANIFEST_FILE).write_text(json.dumps(manifest))
        with pytest.raises(IntegrityError):
            load_model(path, expected_sha256=digest)
        # ... and arrays of the wrong shape fail even when everything is re-signed.
        arrays[name] = arrays[name].reshape(-1)[:-1] if arrays[name].size > 1 else np.zeros(3, arrays[name].dtype)
        np.savez(path / ARRAYS_FILE, **arrays)
        manifest["arrays_sha256"] = sha256_file(path / ARRAYS_FILE)
        manifest["arrays"][name] = {"shape": list(arrays[name].shape), "dtype": str(arrays[name].dtype)}
        (path / MANIFEST_FILE).write_text(json.dumps(manifest))
        with pytest.raises(IntegrityError):
            load_model(path)

    def test_pickled_arrays_are_refused(self, blocks, tmp_path: Path):
        m = self.fitted(blocks)
        path = tmp_path / "m"
        m.save(path)
        arrays = dict(np.load(path / ARRAYS_FILE, allow_pickle=False))
        name = next(iter(arrays))
        arrays[name] = np.array([{"evil": 1}], dtype=object)
        np.savez(path / ARRAYS_FILE, **arrays)
        manifest = json.loads((path / MANIFEST_FILE).read_text())
        manifest["arrays_sha256"] = sha256_file(path / ARRAYS_FILE)
        (path / MANIFEST_FILE).write_text(json.dumps(manifest))
        with pytest.raises(IntegrityError):
            load_model(path)


def _ids(ids):
    from catalog.ids import IdMap

    return IdMap(ids)


class TestPopularity(ModelContract):
    name = "popularity"


class TestContent(ModelContract):
    name = "content"


class TestALS(ModelContract):
    name = "als"
    params = {"factors": 8, "iterations": 5, "random_state": 1}


class TestBPR(ModelContract):
    name = "bpr"
    params = {"factors": 8, "iterations": 20, "random_state": 1}


class TestEASE(ModelContract):
    name = "ease"
    params = {"regularization": 10.0}


class TestLightFM(ModelContract):
    name = "lightfm"
    params = {"no_components": 8, "epochs": 10, "random_state": 1}


def test_every_registered_model_has_a_contract_test():
    tested = {cls.name for cls in ModelContract.__subclasses__()}
    assert tested == set(MODELS)


def test_make_model_rejects_unknown_names_and_params():
    with pytest.raises(ConfigError):
        make_model("nope")
    with pytest.raises(ConfigError):
        make_model("als", factorz=3)


# The same contract with the recency prior on (tests/recommender/test_recency.py covers what it does).
_PRIOR = {"recency_weight": 0.05, "recency_half_life_days": 7.0}


class TestALSWithRecencyPrior(TestALS):
    params = {**TestALS.params, **_PRIOR}


class TestBPRWithRecencyPrior(TestBPR):
    params = {**TestBPR.params, **_PRIOR}


class TestEASEWithRecencyPrior(TestEASE):
    params = {**TestEASE.params, **_PRIOR}


class TestLightFMWithRecencyPrior(TestLightFM):
    params = {**TestLightFM.params, **_PRIOR}
