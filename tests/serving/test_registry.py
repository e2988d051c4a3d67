"""Where the service gets its model: @champion from an embedded MLflow store, or a local directory; checksums enforced."""

from __future__ import annotations

import pytest

from catalog.errors import IntegrityError, NotReadyError
from training.registry import LocalModelSource, MlflowModelSource
from training.tracking import embedded_uri
from tests.serving.mlflow_registry import register


def test_mlflow_champion_is_downloaded_and_verified(served):
    uri = embedded_uri(served.root)
    source = MlflowModelSource(uri, cache_dir=served.root / "models" / "cache")
    assert source.current_version() is None  # no store yet: nothing, and no store created
    assert not (served.root / "mlflow" / "mlflow.db").exists()
    (served.root / "mlflow").mkdir()
    with pytest.raises(NotReadyError):
        source.load()
    v1 = register(uri, served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
    assert source.current_version() == v1
    loaded = source.load()
    assert loaded.version == v1 and loaded.sha256 == served.sha256
    assert loaded.model.n_items_ == served.world.catalog.n_items
    # a version whose recorded checksum does not match its artifacts is refused
    v2 = register(uri, served.root / "mlflow" / "artifacts", served.model_dir, "0" * 64)
    assert MlflowModelSource(uri, cache_dir=served.root / "models" / "cache").current_version() == v2
    with pytest.raises(IntegrityError, match="does not match"):
        source.load()


def test_local_source(served, tmp_path):
    src = LocalModelSource(served.model_dir)
    assert src.current_version() == f"local:{served.sha256[:12]}"
    assert src.load().sha256 == served.sha256
    assert LocalModelSource(tmp_path).current_version() is None
    with pytest.raises(NotReadyError):
        LocalModelSource(tmp_path).load()
