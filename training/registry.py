"""Where models come from, for training and serving alike: the MLflow registry, or a local directory.

One module answers "which version is champion" (:func:`champion`), "fetch its artifacts"
(:func:`fetch`: into a temporary sibling renamed into place once whole, so a crash or a
second worker never leaves a copy that looks complete), "verify them" (the model
directory's sha256 must equal the checksum the registry recorded, :func:`recorded_sha256`)
and "cache them" (:class:`MlflowModelSource` keeps one copy per content hash, re-verifies it
on every load and fetches afresh when it does not verify, so a corrupt entry never sticks;
:func:`load_version` always fetches afresh, so an artifact edited in the store cannot hide
behind a cached copy). When the champion does not verify at start,
:meth:`MlflowModelSource.load_last_good` finds the newest version that does (earlier champions
first, from the ``champion_history`` tag that :mod:`training.promotion` keeps).

The service imports this module and nothing else from ``training``; MLflow itself is
imported inside the functions that talk to a store, so serving a local directory never
loads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from catalog.datadir import DataDir
from catalog.errors import ConfigError, IntegrityError, NotReadyError, SkillPathError
from catalog.settings import Settings
from recommender.models import Recommender, load_model
from recommender.models.artifact import ARRAYS_FILE, MANIFEST_FILE
from training.tracking import Tracking, connect, embedded_uri

if TYPE_CHECKING:  # pragma: no cover
    from training.pyfunc import Extras

__all__ = ["get_version", "CHAMPION", "SHA256_TAGS", "LoadedModel", "LoadedVersion", "ModelSource", "LocalModelSource",
           "MlflowModelSource", "model_source_from_settings", "public_reason", "champion", "champion_version", "recorded_sha256",
           "fetch", "find_model_dir", "load_version", "load_champion"]

CHAMPION = "champion"
#: Tag keys holding a version's model checksum, looked up in this order on the version, then on its run.
SHA256_TAGS = ("model_sha256", "sha256")
_HISTORY_TAG = "champion_history"
_HISTORY_MAX = 50
_COMPLETE = ".complete"  # written last into a fetched copy: without it the copy is not whole


@dataclass(frozen=True)
class LoadedModel:
    """A verified model as the service serves it: ``sha256`` is the checksum it was verified against."""

    model: Recommender
    version: str
    sha256: str
    source: str
    #: Set when this is not the champion but the last good version served in its place.
    champion: str | None = None
    #: Why the champion is not serving (one line, no server paths), when ``champion`` is set.
    fallback_reason: str | None = None


@dataclass
class LoadedVersion:
    """A registry version downloaded and verified, with the extras training logged beside it."""

    model: Recommender
    extras: Extras
    version: str
    metadata: dict[str, Any]
    local_dir: Path


# ------------------------------------------------------------------ lookup, checksum, fetch


def champion(client: Any, name: str, *, alias: str = CHAMPION) -> Any | None:
    """The model version behind ``name@alias``, or None (no such model or alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion_version(tracking: Tracking) -> str | None:
    """The version behind ``@champion``, or None (no registered model or no champion yet)."""
    mv = champion(tracking.client, tracking.registered_model)
    return None if mv is None else str(mv.version)


def recorded_sha256(client: Any, mv: Any) -> str:
    """The model checksum the registry recorded for ``mv`` (its tags, else its run's); IntegrityError if none."""
    tags = dict(mv.tags or {})
    if mv.run_id:
        try:
            tags = {**client.get_run(mv.run_id).data.tags, **tags}
        except Exception:  # the run may have been deleted; the version tag is enough
            pass
    for key in SHA256_TAGS:
        if tags.get(key):
            return str(tags[key])
    raise IntegrityError(f"{mv.name} version {mv.version} has no checksum tag ({' or '.join(SHA256_TAGS)}); "
                         "refusing an unverifiable model")


def fetch(client: Any, mv: Any, dest: Path, *, tracking_uri: str, reuse: bool) -> Path:
    """The version's artifacts in ``dest``: a whole copy already there if ``reuse``, else downloaded afresh.

    Downloads land in a temporary sibling that is renamed to ``dest`` once complete;
    a failure is a :class:`NotReadyError` and leaves ``dest`` as it was.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in serve.log
    import mlflow.artifacts

    if reuse and (dest / _COMPLETE).exists():
        return dest
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        uri = client.get_model_version_download_uri(mv.name, mv.version)
        got = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp), tracking_uri=tracking_uri))
    except Exception as e:  # network, store or disk: whatever serves now keeps serving
        shutil.rmtree(tmp, ignore_errors=True)
        raise NotReadyError(f"could not download {mv.name} version {mv.version}: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    got = got if got.is_dir() else tmp  # the version's folder itself, not the folder it was downloaded into
    (got / _COMPLETE).touch()
    if not reuse:
        shutil.rmtree(dest, ignore_errors=True)
    try:
        os.replace(got, dest)
    except OSError:  # another worker finished first: use theirs
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def find_model_dir(root: Path) -> Path:
    """The one saved model (``model.json`` + ``arrays.npz``) under ``root``; IntegrityError otherwise."""
    found = sorted({p.parent for p in root.rglob(MANIFEST_FILE) if (p.parent / ARRAYS_FILE).exists()})
    if len(found) != 1:
        raise IntegrityError(f"{root}: expected one saved model ({MANIFEST_FILE} + {ARRAYS_FILE}) in the "
                             f"version's artifacts, found {len(found)}")
    return found[0]


# ------------------------------------------------------------------ sources the service polls


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


class MlflowModelSource:
    """The registered model's alias (default ``skillpath-recommender@champion``), one cached copy per
    content hash (``cache_dir/<sha256>``).

    Asking for the current version never creates an embedded store; each load re-verifies
    the cached copy against the version's recorded checksum and fetches it afresh when it
    does not verify.
    """

    def __init__(self, tracking_uri: str, *, name: str = "skillpath-recommender", alias: str = CHAMPION,
                 cache_dir: str | Path) -> None:
        self.tracking_uri = tracking_uri
        self.name, self.alias = name, alias
        self.cache_dir = Path(cache_dir)
        self._client: Any = None

    def __repr__(self) -> str:
        return f"MlflowModelSource({self.tracking_uri!r}, {self.name}@{self.alias})"

    def _store_missing(self) -> bool:
        if self.tracking_uri.startswith("sqlite:///"):
            return not Path(self.tracking_uri[len("sqlite:///"):]).exists()
        return False

    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def _champion(self) -> Any | None:
        return None if self._store_missing() else champion(self.client(), self.name, alias=self.alias)

    def _embedded(self) -> tuple[str | None, str | None] | None:
        """``(version, model sha256)`` of ``name@alias`` read straight from an embedded SQLite registry
        (``(None, None)``: no such alias), or None when this store cannot be read that way.

        Importing MLflow and opening its store costs seconds, the query a millisecond: the champion
        check of every ``skillpath recommend`` and of the service's start and timer reads the same
        two rows MLflow would (the alias, the version's checksum tag). Anything unexpected (another
        store, an older schema, a locked file) returns None and the caller asks MLflow.
        """
        if not self.tracking_uri.startswith("sqlite:///"):
            return None
        path = Path(self.tracking_uri[len("sqlite:///"):])
        if not path.is_file():
            return None
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
            try:
                row = db.execute("SELECT version FROM registered_model_aliases WHERE workspace = 'default' AND "
                                 "name = ? AND alias = ?", (self.name, self.alias)).fetchone()
                if row is None:
                    return None, None
                tags = dict(db.execute("SELECT key, value FROM model_version_tags WHERE workspace = 'default' AND "
                                       "name = ? AND version = ?", (self.name, row[0])).fetchall())
            finally:
                db.close()
        except sqlite3.Error:
            return None
        sha = next((str(tags[k]) for k in SHA256_TAGS if tags.get(k)), None)
        return str(row[0]), sha

    def current_version(self) -> str | None:
        fast = self._embedded()
        if fast is not None:
            return fast[0]
        mv = self._champion()
        return None if mv is None else str(mv.version)

    def load(self) -> LoadedModel:
        fast = self._embedded()
        if fast is not None and fast[0] is not None and fast[1] is not None:
            version, sha = fast
            dest = self.cache_dir / sha
            if (dest / _COMPLETE).exists():  # a whole cached copy: verify it against the recorded checksum
                try:
                    model = load_model(find_model_dir(dest), expected_sha256=sha)
                    return LoadedModel(model, version, sha, f"models:/{self.name}/{version}")
                except (IntegrityError, FileNotFoundError):
                    pass  # the path below fetches afresh (and drops the copy that does not verify)
        mv = self._champion()
        if mv is None:
            raise NotReadyError(f"no {self.name}@{self.alias} in {self.tracking_uri}; train and promote a model")
        return self._load(mv)

    def _load(self, mv: Any) -> LoadedModel:
        """``mv`` from the cache entry of its recorded checksum, fetched afresh if that entry does not verify."""
        sha = recorded_sha256(self.client(), mv)
        dest = self.cache_dir / sha
        for attempt in (0, 1):
            local = fetch(self.client(), mv, dest, tracking_uri=self.tracking_uri, reuse=attempt == 0)
            try:
                model = load_model(find_model_dir(local), expected_sha256=sha)
            except (IntegrityError, FileNotFoundError) as e:
                shutil.rmtree(dest, ignore_errors=True)  # never keep a copy that does not verify
                if attempt == 1:
                    raise IntegrityError(f"{self.name} version {mv.version} does not verify: "
                                         f"{public_reason(e)}") from None
                continue
            return LoadedModel(model, str(mv.version), sha, f"models:/{self.name}/{mv.version}")
        raise AssertionError("unreachable")  # pragma: no cover

    def candidates(self, champion_version: str) -> list[Any]:
        """Versions to serve in the champion's place, best first: earlier champions (latest first),
        then the versions the promotion gate did not reject, newest first."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        try:
            rm = client.get_registered_model(self.name)
            versions = {str(v.version): v for v in client.search_model_versions(f"name='{self.name}'")}
        except MlflowException:
            return []
        history = [str(v) for v in json.loads((rm.tags or {}).get(_HISTORY_TAG, "[]"))]
        order = [v for v in reversed(history) if v in versions]
        order += sorted((v for v, mv in versions.items() if (mv.tags or {}).get("gate.decision") != "rejected"),
                        key=int, reverse=True)
        return [versions[v] for v in dict.fromkeys(order) if v != str(champion_version)]

    def load_last_good(self, reason: SkillPathError) -> LoadedModel:
        """The newest version that verifies, standing in for a champion that failed with ``reason``.

        Raises ``reason`` again when no version verifies (nothing better to serve).
        """
        mv = self._champion()
        if mv is None:
            raise reason
        for candidate in self.candidates(str(mv.version)):
            try:
                loaded = self._load(candidate)
            except (IntegrityError, NotReadyError):
                continue
            return dataclasses.replace(loaded, champion=str(mv.version), fallback_reason=public_reason(reason))
        raise reason


def public_reason(exc: BaseException) -> str:
    """``exc``'s first line with absolute filesystem paths cut to their last part: safe to show a client."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _ABS_PATH.sub(lambda m: m.group(1) + m.group(2).rstrip("/").rsplit("/", 1)[-1], text)


#: An absolute path (two parts or more, optionally a ``file:`` URI) after a start, a space, a quote or ``(``.
_ABS_PATH = re.compile(r"(^|[\s'\"(=])(?:file:/{0,2})?(/(?:[^\s'\"():/]+/)+[^\s'\"():,;]*)")


def model_source_from_settings(settings: Settings, *, model_dir: str | Path | None = None) -> ModelSource:
    """A local directory if one is given, else the registry's champion (the embedded store by default)."""
    if model_dir:
        return LocalModelSource(model_dir)
    dd = DataDir(settings.data_dir)
    uri = settings.tracking.uri or embedded_uri(dd.root)
    return MlflowModelSource(uri, name=settings.tracking.registered_model, cache_dir=dd.models / "registry-cache")


# ------------------------------------------------------------------ one version, loaded and verified


def get_version(tracking: Tracking, version: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return tracking.client.get_model_version(tracking.registered_model, str(version))
    except MlflowException:
        raise ConfigError(f"no version {version} of model {tracking.registered_model!r}; "
                          "see `skillpath models list`") from None


def load_version(tracking: Tracking, version: str, *, dst_root: str | Path | None = None) -> LoadedVersion:
    """Fetch ``version`` afresh and load it, verifying model and extras against the registry's checksums."""
    from mlflow.models import Model

    from training.pyfunc import read_extras

    mv = get_version(tracking, version)
    tags = dict(mv.tags or {})
    extras_sha = tags.get("extras_sha256")
    if not extras_sha:
        raise IntegrityError(f"version {version} records no extras_sha256 tag; refusing to load it")
    client = tracking.client
    model_sha = recorded_sha256(client, mv)
    root = Path(dst_root) if dst_root is not None else tracking.data_dir / "models" / "registry"
    root.mkdir(parents=True, exist_ok=True)
    local = fetch(client, mv, root / f"v{mv.version}", tracking_uri=tracking.uri, reuse=False)
    mlmodel = sorted(local.rglob("MLmodel"))
    if len(mlmodel) != 1:
        raise IntegrityError(f"version {version}: expected one MLmodel file in its artifacts, found {len(mlmodel)}")
    local = mlmodel[0].parent
    flavor = Model.load(str(local)).flavors.get("python_function", {})
    config = flavor.get("config") or flavor.get("model_config") or {}
    if config and (config.get("model_sha256"), config.get("extras_sha256")) != (model_sha, extras_sha):
        raise IntegrityError(f"version {version}: the artifact's model config does not match the registry's "
                             "sha256 tags; the artifact was changed after registration")
    arts = flavor.get("artifacts", {})
    model = load_model(local / arts.get("model", {}).get("path", "artifacts/model"), expected_sha256=model_sha)
    extras = read_extras(local / arts.get("extras", {}).get("path", "artifacts/extras"), expected_sha256=extras_sha)
    metadata = {**tags, "version": str(mv.version), "run_id": mv.run_id,
                "aliases": list(getattr(mv, "aliases", []) or []),
                "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc).isoformat()}
    return LoadedVersion(model=model, extras=extras, version=str(mv.version), metadata=metadata, local_dir=local)


def load_champion(settings: Settings, data_dir: str | Path | None = None, *, tracking_uri: str | None = None,
                  ) -> tuple[Recommender, str, dict[str, Any], Path]:
    """``(model, version, metadata, local_dir)`` of ``@champion``, verified.

    ``local_dir`` is the downloaded MLflow model (``artifacts/model``, ``artifacts/extras``).
    Raises NotReadyError when there is no champion, IntegrityError when a checksum fails.
    """
    tracking = connect(settings, data_dir, tracking_uri=tracking_uri)
    version = champion_version(tracking)
    if version is None:
        raise NotReadyError(f"model {tracking.registered_model!r} has no @champion yet; run `skillpath train`")
    lv = load_version(tracking, version)
    return lv.model, lv.version, lv.metadata, lv.local_dir
