"""Where the serving model comes from: the MLflow registry's ``@champion``, or a local directory.

Serving never imports ``training/``: this adapter talks to MLflow directly. A model in
the registry is the directory ``Recommender.save`` writes (``arrays.npz`` + ``model.json``)
logged as the artifacts of a registered version; its checksum (the sha256 that ``save``
returned) is a tag on the version (or on its run), and loading refuses anything that does
not match it.

Both sources answer two questions: which version is current (cheap, polled by the
reload timer) and "load it" (download if needed, verify, build the model).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from catalog.errors import IntegrityError, NotReadyError
from recommender.models import Recommender, load_model
from recommender.models.artifact import ARRAYS_FILE, MANIFEST_FILE

__all__ = ["LoadedModel", "ModelSource", "LocalModelSource", "MlflowModelSource", "SHA256_TAGS",
           "default_tracking_uri"]

#: Tag keys holding a version's checksum, looked up in this order on the model version, then its run.
SHA256_TAGS = ("model_sha256", "sha256")


@dataclass(frozen=True)
class LoadedModel:
    model: Recommender
    version: str
    sha256: str
    source: str


class ModelSource(Protocol):
    def current_version(self) -> str | None:
        """The version that should serve now (None: none available yet)."""

    def load(self) -> LoadedModel:
        """Fetch and verify the current version; IntegrityError/NotReadyError if impossible."""


def _manifest_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256((path / MANIFEST_FILE).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class LocalModelSource:
    """A model directory on disk; its version is the checksum of its manifest.

    To swap models atomically, point the path at a symlink and replace the symlink
    (``ln -sfn v2 current.tmp && mv -T current.tmp current``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"LocalModelSource({str(self.path)!r})"

    def current_version(self) -> str | None:
        sha = _manifest_sha(self.path)
        return None if sha is None else f"local:{sha[:12]}"

    def load(self) -> LoadedModel:
        sha = _manifest_sha(self.path)
        if sha is None:
            raise NotReadyError(f"no model in {self.path} (needs {MANIFEST_FILE} and {ARRAYS_FILE}); "
                                "train one or set SKILLPATH_MODEL_DIR")
        try:
            model = load_model(self.path, expected_sha256=sha)
        except FileNotFoundError as e:
            raise NotReadyError(str(e)) from None
        return LoadedModel(model, f"local:{sha[:12]}", sha, str(self.path.resolve()))


def default_tracking_uri(data_dir: str | Path) -> str:
    """The embedded store: ``sqlite:////<abs data dir>/mlflow/mlflow.db``."""
    return "sqlite:///" + str((Path(data_dir) / "mlflow" / "mlflow.db").resolve())


class MlflowModelSource:
    """The registered model's alias (default ``skillpath-recommender@champion``).

    Artifacts are downloaded once per version into ``cache_dir/<version>`` and verified
    against the version's checksum tag on every load.
    """

    def __init__(self, tracking_uri: str, *, name: str = "skillpath-recommender", alias: str = "champion",
                 cache_dir: str | Path) -> None:
        self.tracking_uri = tracking_uri
        self.name, self.alias = name, alias
        self.cache_dir = Path(cache_dir)
        self._client = None

    def __repr__(self) -> str:
        return f"MlflowModelSource({self.tracking_uri!r}, {self.name}@{self.alias})"

    def _store_missing(self) -> bool:
        # Never create an empty embedded store just by asking (and never pay its migrations).
        if self.tracking_uri.startswith("sqlite:///"):
            return not Path(self.tracking_uri[len("sqlite:///"):]).exists()
        return False

    def client(self):
        if self._client is None:
            from mlflow import MlflowClient  # heavy: imported only when a registry is used

            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def _champion(self):
        from mlflow.exceptions import MlflowException

        if self._store_missing():
            return None
        try:
            return self.client().get_model_version_by_alias(self.name, self.alias)
        except MlflowException:
            return None  # no such model or alias yet

    def current_version(self) -> str | None:
        mv = self._champion()
        return None if mv is None else str(mv.version)

    def _sha256(self, mv) -> str:
        tags = dict(mv.tags or {})
        if mv.run_id:
            try:
                tags = {**self.client().get_run(mv.run_id).data.tags, **tags}
            except Exception:  # the run may have been deleted; the version tag is enough
                pass
        for key in SHA256_TAGS:
            if tags.get(key):
                return str(tags[key])
        raise IntegrityError(f"{self.name} version {mv.version} has no checksum tag ({' or '.join(SHA256_TAGS)}); "
                             "refusing to serve an unverifiable model")

    def load(self) -> LoadedModel:
        import mlflow.artifacts

        mv = self._champion()
        if mv is None:
            raise NotReadyError(f"no {self.name}@{self.alias} in {self.tracking_uri}; train and promote a model")
        sha = self._sha256(mv)
        dest = self.cache_dir / str(mv.version)
        if not (dest / ".complete").exists():
            tmp = self.cache_dir / f".{mv.version}.{os.getpid()}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            try:
                uri = self.client().get_model_version_download_uri(self.name, mv.version)
                mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp),
                                                   tracking_uri=self.tracking_uri)
            except Exception as e:  # network, store or disk: the old model keeps serving
                shutil.rmtree(tmp, ignore_errors=True)
                raise NotReadyError(f"could not download {self.name} version {mv.version}: "
                                    f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            (tmp / ".complete").touch()
            try:
                os.replace(tmp, dest)
            except OSError:  # another worker finished first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        model_dir = _find_model_dir(dest)
        return LoadedModel(load_model(model_dir, expected_sha256=sha), str(mv.version), sha,
                           f"models:/{self.name}/{mv.version}")


def _find_model_dir(root: Path) -> Path:
    found = sorted({p.parent for p in root.rglob(MANIFEST_FILE) if (p.parent / ARRAYS_FILE).exists()})
    if len(found) != 1:
        raise IntegrityError(f"{root}: expected one saved model ({MANIFEST_FILE} + {ARRAYS_FILE}) in the "
                             f"version's artifacts, found {len(found)}")
    return found[0]
