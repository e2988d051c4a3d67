"""The import graph of the repository: no cycles anywhere, and imports flow the documented way.

The graph is built statically from every ``import`` statement in every module (inside
functions and ``if TYPE_CHECKING:`` blocks too: a lazy import that closes a loop is still a
loop, it only moves the failure to run time). The rules are DEVELOPERS.md's "Layout and
import direction"; the last two tests run the same checks on small trees written to
``tmp_path``, so this file is seen to fail on a cycle and on each kind of wrong direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("catalog", "recommender", "analysis", "features", "training", "serving", "skillpath_cli", "benchmarks")
PURE_CORE = ("catalog", "recommender", "analysis")
SERVICE_LIBRARIES = ("mlflow", "feast", "bentoml", "requests", "httpx")
# package -> packages it may never import
# (catalog <- recommender <- analysis <- features <- (training, serving) <- CLI)
FORBIDDEN = {
    "catalog": {"recommender", "analysis", "features", "training", "serving", "skillpath_cli", "benchmarks"},
    "recommender": {"analysis", "features", "training", "serving", "skillpath_cli", "benchmarks"},
    "analysis": {"features", "training", "serving", "skillpath_cli", "benchmarks"},
    "features": {"training", "serving", "skillpath_cli", "benchmarks"},
    "training": {"serving", "skillpath_cli", "benchmarks"},
    "serving": {"skillpath_cli", "benchmarks"},
}
SERVING_MAY_IMPORT_FROM_TRAINING = {"training.registry"}
APP = "serving.app"
APP_IMPORTERS = {"serving.service", "serving.api"}  # the transport; the CLI and the harnesses may call it too


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``packages`` (a package is its ``__init__``)."""
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")) if (root / pkg).is_dir() else []:
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def _internal(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of ``modules`` (None: a third-party or stdlib import)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES
                 ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(edges, external)``: module -> modules of ours it imports; module -> top-level names of the others."""
    modules = module_files(root, packages)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    external: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package holding this module
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = subs or [base]
            for t in targets:
                hit = _internal(t, modules)
                if hit is None:
                    external[mod].add(t.split(".")[0])
                elif hit != mod:
                    edges[mod].add(hit)
    return edges, external


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return sorted(found)


def direction_violations(edges: dict[str, set[str]], external: dict[str, set[str]]) -> list[str]:
    """Every import that breaks the documented direction, as ``"importer -> imported: rule"``."""
    out = []
    for mod in sorted(edges):
        pkg = mod.split(".")[0]
        for lib in sorted(external[mod] & set(SERVICE_LIBRARIES)):
            if pkg in PURE_CORE:
                out.append(f"{mod} -> {lib}: the pure core never imports {', '.join(SERVICE_LIBRARIES)}")
        for dep in sorted(edges[mod]):
            dep_pkg = dep.split(".")[0]
            if dep_pkg in FORBIDDEN.get(pkg, ()):
                out.append(f"{mod} -> {dep}: {pkg} never imports {dep_pkg}")
            elif pkg == "serving" and dep_pkg == "training" and dep not in SERVING_MAY_IMPORT_FROM_TRAINING:
                out.append(f"{mod} -> {dep}: serving imports only {', '.join(sorted(SERVING_MAY_IMPORT_FROM_TRAINING))}"
                           " from training")
            elif dep == APP and pkg == "serving" and mod not in APP_IMPORTERS:
                out.append(f"{mod} -> {dep}: views and adapters never import the app")
    return out


def test_the_repository_has_no_import_cycle():
    edges, _ = import_graph(REPO)
    assert len(edges) > 100  # the walk found the packages
    assert cycles(edges) == []


def test_imports_flow_the_documented_way():
    edges, external = import_graph(REPO)
    assert direction_violations(edges, external) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("a_imports_b", [
    "from recommender import b\n",
    "def later():\n    from recommender.b import f\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import b\n",
])
def test_a_cycle_is_caught_however_it_is_written(tmp_path, a_imports_b):
    root = _tree(tmp_path, {"recommender/__init__.py": "", "recommender/a.py": a_imports_b,
                            "recommender/b.py": "import recommender.c\n", "recommender/c.py": "from .a import x\n",
                            "recommender/d.py": "from recommender import a\n"})
    assert cycles(import_graph(root)[0]) == [["recommender.a", "recommender.b", "recommender.c"]]


def test_each_kind_of_wrong_direction_is_caught(tmp_path):
    root = _tree(tmp_path, {
        "catalog/__init__.py": "", "catalog/x.py": "import httpx\nfrom recommender import y\n",
        "recommender/__init__.py": "", "recommender/y.py": "import mlflow.artifacts\nfrom serving import z\n",
        "features/__init__.py": "", "features/f.py": "import feast\nfrom training import t\n",
        "training/__init__.py": "", "training/t.py": "import mlflow\nfrom serving.z import g\n",
        "training/registry.py": "import mlflow\n",
        "serving/__init__.py": "", "serving/z.py": "from training import registry, t\nfrom skillpath_cli import c\n",
        "serving/app.py": "from serving import z\n", "serving/service.py": "from serving.app import A\n",
        "serving/views/__init__.py": "", "serving/views/v.py": "from serving.app import A\n",
        "skillpath_cli/__init__.py": "", "skillpath_cli/c.py": "from serving.app import A\nfrom training import t\n",
    })
    edges, external = import_graph(root)
    assert direction_violations(edges, external) == [
        "catalog.x -> httpx: the pure core never imports mlflow, feast, bentoml, requests, httpx",
        "catalog.x -> recommender.y: catalog never imports recommender",
        "features.f -> training.t: features never imports training",
        "recommender.y -> mlflow: the pure core never imports mlflow, feast, bentoml, requests, httpx",
        "recommender.y -> serving.z: recommender never imports serving",
        "serving.views.v -> serving.app: views and adapters never import the app",
        "serving.z -> skillpath_cli.c: serving never imports skillpath_cli",
        "serving.z -> training.t: serving imports only training.registry from training",
        "training.t -> serving.z: training never imports serving",
    ]
