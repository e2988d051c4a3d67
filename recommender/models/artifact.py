"""Model artifacts without pickle: arrays in ``arrays.npz``, the rest in ``model.json``.

A saved model is a directory::

    arrays.npz   learned arrays, read back with ``allow_pickle=False``
    model.json   format version, model name, params, scalars, array shapes/dtypes,
                 optional id maps, and the sha256 of arrays.npz

The artifact's checksum is the sha256 of ``model.json``; since that file records the
checksum of ``arrays.npz``, one hash pins everything. Loading always re-checks the
arrays against the manifest, and checks the manifest too when the caller passes the
checksum it recorded at training time (a registry, an MLflow run).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from catalog.errors import IntegrityError
from catalog.ids import IdMap

__all__ = ["FORMAT_VERSION", "ARRAYS_FILE", "MANIFEST_FILE", "Artifact", "write_artifact", "read_artifact",
           "sha256_file"]

FORMAT_VERSION = 1
ARRAYS_FILE = "arrays.npz"
MANIFEST_FILE = "model.json"


@dataclass
class Artifact:
    """What a model directory holds, already verified."""

    model: str
    params: dict[str, Any]
    scalars: dict[str, Any]
    arrays: dict[str, NDArray[Any] | None]
    id_maps: dict[str, IdMap]
    sha256: str


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_artifact(path: str | Path, *, model: str, params: dict[str, Any], scalars: dict[str, Any],
                   arrays: dict[str, NDArray[Any] | None], id_maps: dict[str, IdMap] | None = None) -> str:
    """Write a model directory (arrays first, manifest last) and return its sha256."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    present = {k: np.ascontiguousarray(v) for k, v in arrays.items() if v is not None}
    for k, v in present.items():
        if v.dtype == object:
            raise IntegrityError(f"array {k!r} has dtype object; only numeric arrays can be saved")
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".arrays.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **present)  # type: ignore[arg-type]  # mypy reads **present as allow_pickle
        os.replace(tmp, root / ARRAYS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "params": params,
        "scalars": scalars,
        "arrays": {k: (None if v is None else {"shape": list(np.shape(v)), "dtype": str(np.asarray(v).dtype)})
                   for k, v in arrays.items()},
        "arrays_sha256": sha256_file(root / ARRAYS_FILE),
        "id_maps": {k: m.to_list() for k, m in (id_maps or {}).items()},
    }
    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
    _atomic_write(root / MANIFEST_FILE, data)
    return hashlib.sha256(data).hexdigest()


def read_artifact(path: str | Path, *, expected_sha256: str | None = None) -> Artifact:
    """Read and verify a model directory; raise IntegrityError on any mismatch."""
    root = Path(path)
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file() or not (root / ARRAYS_FILE).is_file():
        raise FileNotFoundError(f"{root} is not a saved model (needs {MANIFEST_FILE} and {ARRAYS_FILE})")
    data = manifest_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise IntegrityError(f"{manifest_path}: sha256 {digest} does not match the expected {expected_sha256}; "
                             "the artifact was changed after it was recorded")
    try:
        manifest = json.loads(data)
    except json.JSONDecodeError as e:
        raise IntegrityError(f"{manifest_path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IntegrityError(f"{manifest_path}: unknown format (expected format_version {FORMAT_VERSION})")
    arrays_digest = sha256_file(root / ARRAYS_FILE)
    if arrays_digest != manifest.get("arrays_sha256"):
        raise IntegrityError(f"{root / ARRAYS_FILE}: sha256 {arrays_digest} does not match the manifest; "
                             "the arrays were changed or belong to another model")
    try:
        with np.load(root / ARRAYS_FILE, allow_pickle=False) as npz:
            stored = {k: npz[k] for k in npz.files}
    except ValueError as e:  # object arrays need pickle: refuse
        raise IntegrityError(f"{root / ARRAYS_FILE}: {e}") from None
    arrays: dict[str, NDArray[Any] | None] = {}
    for name, spec in manifest.get("arrays", {}).items():
        if spec is None:
            arrays[name] = None
            continue
        if name not in stored:
            raise IntegrityError(f"{root / ARRAYS_FILE}: array {name!r} is missing")
        a = stored[name]
        if list(a.shape) != spec["shape"] or str(a.dtype) != spec["dtype"]:
            raise IntegrityError(f"array {name!r} is {a.dtype}{list(a.shape)}, manifest says "
                                 f"{spec['dtype']}{spec['shape']}")
        arrays[name] = a
    id_maps = {k: IdMap(v) for k, v in manifest.get("id_maps", {}).items()}
    return Artifact(model=manifest["model"], params=manifest.get("params", {}), scalars=manifest.get("scalars", {}),
                    arrays=arrays, id_maps=id_maps, sha256=digest)
