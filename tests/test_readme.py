"""Every command the README shows still works, so an example cannot rot.

The README's ```bash blocks are extracted line by line (``\\`` continuations joined,
comments dropped, ``&&`` chains split). Each ``skillpath`` command is parsed by the real
click command tree (unknown commands or options, bad choices, numbers or dates fail here,
as they would for a reader); the ids it names (``--goal`` skills, mentee and item ids) must
exist in the seed-7 demo world the README is written against; the cheap read-only ones run
for real on a small synthetic world. ``make`` lines name real targets (``make -n``), and
``curl`` lines post to routes that exist with bodies their schemas accept.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from catalog.synth.skills_data import skill_specs
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DEMO_MENTEES = 6000  # mentees of the demo world (`skillpath data synth --seed 7`)


def readme_commands(text: str) -> list[str]:
    """Shell commands of the ```bash blocks: continuations joined, comments dropped, ``&&`` split."""
    out: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        pending = ""
        for line in joined.splitlines():
            pending = f"{pending}\n{line}" if pending else line.strip()
            if not pending or pending.startswith("#"):
                pending = ""
                continue
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quote spans lines (a JSON body): read on
                continue
            pending = ""
            cmd: list[str] = []
            for w in words + ["&&"]:
                if w in ("&&", "|", ";"):
                    if cmd:
                        out.append(shlex.join(cmd))
                    cmd = []
                else:
                    cmd.append(w)
    return out


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
SKILLPATH = [c for c in COMMANDS if c.startswith("skillpath ")]
MAKE = [c for c in COMMANDS if c.startswith("make ")]
CURL = [c for c in COMMANDS if c.startswith("curl ")]


def test_the_readme_has_commands_of_each_kind():
    assert len(SKILLPATH) >= 15 and MAKE and CURL
    assert not [c for c in COMMANDS if c.split()[0] not in ("skillpath", "make", "curl", "source", "export")], \
        "a README command this test does not check"
    for c in COMMANDS:
        if c.startswith("source "):  # how to put skillpath on PATH: the file make install creates
            assert (REPO / c.split()[1]).is_file() and (REPO / ".venv/bin/skillpath").is_file()


def parse(argv: list[str]) -> list[click.Context]:
    """Parse ``argv`` through the real command tree without running anything; the contexts, root first."""
    ctx = cli.make_context("skillpath", list(argv), resilient_parsing=False)
    chain = [ctx]
    while isinstance(ctx.command, click.Group) and (ctx._protected_args or ctx.args):
        name, *rest = [*ctx._protected_args, *ctx.args]
        _, sub, rest = ctx.command.resolve_command(ctx, [name, *rest])
        ctx = sub.make_context(name, rest, parent=ctx)
        chain.append(ctx)
    return chain


@pytest.fixture
def cwd_with_files(tmp_path, monkeypatch):
    """A working directory holding the files README commands name (parsing checks they exist)."""
    monkeypatch.chdir(tmp_path)
    for c in SKILLPATH:
        for w in shlex.split(c):
            if re.fullmatch(r"[\w.-]+\.(csv|parquet|jsonl)", w):
                (tmp_path / w).write_text("")
    return tmp_path


@pytest.mark.parametrize("command", SKILLPATH)
def test_each_skillpath_command_parses(command, cwd_with_files):
    chain = parse(shlex.split(command)[1:])
    assert len(chain) >= 2, f"{command!r} names no subcommand"


@pytest.mark.parametrize("command", SKILLPATH)
def test_ids_exist_in_the_demo_world(command):
    skills = {spec.skill_id for spec in skill_specs()}
    words = shlex.split(command)
    for i, w in enumerate(words[:-1]):
        if w == "--goal":
            skill = words[i + 1].split(":")[0].split("@")[0]
            assert skill in skills, f"{command!r}: skill {skill!r} is not in the demo world"
    for w in words:
        m = re.fullmatch(r"u(\d{5})", w)
        if m:
            assert 1 <= int(m.group(1)) <= DEMO_MENTEES, f"{command!r}: no mentee {w} in the demo world"


@pytest.mark.parametrize("command", MAKE)
def test_make_targets_exist(command):
    r = subprocess.run(["make", "-n", *shlex.split(command)[1:]], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", CURL)
def test_curl_bodies_match_the_api(command):
    from fastapi.routing import APIRoute

    from serving.api import api

    words = shlex.split(command)
    url = next(w for w in words if w.startswith("http://"))
    path = "/" + url.split("/", 3)[3]
    body = json.loads(words[words.index("-d") + 1])
    route = next((r for r in api.routes if isinstance(r, APIRoute) and r.path == path), None)
    assert route is not None and "POST" in route.methods, f"no POST {path}"
    model = route.body_field.field_info.annotation  # the pydantic body the route declares
    model.model_validate(body)


# The cheap read-only commands, run for real on a small synthetic world built once.
CHEAP = ("catalog summary", "catalog stale", "path ", "mentors match", "skills ")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme") / "data"
    code = run_cli(cli, ["--data-dir", str(d), "data", "synth", "--seed", "7", "--mentees", "60", "--items", "300",
                         "--days", "60"])
    assert code == 0
    return d


@pytest.mark.parametrize("command", [c for c in SKILLPATH if any(c.startswith("skillpath " + p) for p in CHEAP)])
def test_cheap_commands_run(command, small_world, capsys):
    argv = shlex.split(command)[1:]
    code = run_cli(cli, ["--data-dir", str(small_world), *argv])
    out, err = capsys.readouterr()
    assert code == 0, f"{command!r}: {err}"
    assert out.strip()


# Every curl example of the README and docs/*.md: a route that exists for its method, a body its schema
# accepts, and ids that exist in the seed-7 demo world or were created by an earlier example of the same
# document, so each document's examples run top to bottom against `make demo` (the answers shown in
# docs/serving.md are the demo's). This caught the test world's ids (u003, block3, res-0123) in the docs.
DEMO_ITEMS, DEMO_MENTORS = 5000, 150  # resources and mentors of the demo world (`data synth --seed 7`)
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
DOC_CURLS = {p.name: [c for c in readme_commands(p.read_text(encoding="utf-8")) if c.startswith("curl ")]
             for p in DOCS}
DOC_CURLS = {name: curls for name, curls in DOC_CURLS.items() if curls}
KIND_OF_FIELD = {"user_id": "mentee", "mentee_id": "mentee", "user_ids": "mentee", "item_id": "item",
                 "exclude_item_ids": "item", "mentor_id": "mentor", "goal_skills": "skill"}
KIND_OF_SEGMENT = {"resources": "item", "items": "item", "skills": "skill", "mentees": "mentee", "mentors": "mentor"}


def curl_request(command: str) -> tuple[str, str, object]:
    """The method, path and JSON body (None without ``-d``) a curl example sends."""
    words = shlex.split(command)
    url = next(w for w in words if re.match(r"(https?://)?(localhost|127\.0\.0\.1):\d+/", w))
    path = url.split("/", 3 if "://" in url else 1)[-1].split("?")[0]
    method = words[words.index("-X") + 1] if "-X" in words else ("POST" if "-d" in words else "GET")
    body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
    return method, "/" + path, body


def named_ids(path: str, params: dict[str, str], body: object) -> list[tuple[str, str]]:
    """(kind, id) pairs a request names: path parameters by their route segment, body fields by name."""
    out: list[tuple[str, str]] = []
    segments = path.strip("/").split("/")
    if segments[0] == "pairs":
        out += [("mentor", params["mentor_id"]), ("mentee", params["mentee_id"])]
    else:
        out += [(KIND_OF_SEGMENT[segments[0]], v) for v in params.values() if segments[0] in KIND_OF_SEGMENT]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                kind = KIND_OF_FIELD.get(key)
                for v in value if isinstance(value, list) else [value]:
                    if kind and isinstance(v, str):
                        out.append((kind, v))
                    else:
                        walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body)
    return out


def in_demo_world(kind: str, entity_id: str, skills: set[str]) -> bool:
    if kind == "skill":
        return entity_id in skills
    pattern, n = {"item": (r"r(\d{5})", DEMO_ITEMS), "mentee": (r"u(\d{5})", DEMO_MENTEES),
                  "mentor": (r"m(\d{3})", DEMO_MENTORS)}[kind]
    m = re.fullmatch(pattern, entity_id)
    return bool(m) and 1 <= int(m.group(1)) <= n


def test_the_serving_and_console_docs_have_curl_examples():
    assert len(DOC_CURLS.get("serving.md", [])) >= 25 and DOC_CURLS.get("console.md") and DOC_CURLS.get("README.md")


@pytest.mark.parametrize("doc", sorted(DOC_CURLS))
def test_doc_curls_hit_routes_with_demo_ids(doc):
    from fastapi.routing import APIRoute

    from serving.api import api
    from serving.routes.analytics import router as analytics

    routes = [r for r in [*api.routes, *analytics.routes] if isinstance(r, APIRoute)]
    skills = {spec.skill_id for spec in skill_specs()}
    created: set[tuple[str, str]] = set()
    for command in DOC_CURLS[doc]:
        method, path, body = curl_request(command)
        matches = [(r, m) for r in routes if method in r.methods and (m := r.path_regex.match(path))]
        assert matches, f"{doc}: no route for {method} {path}"
        route, match = matches[0]
        if body is not None and route.body_field is not None:
            route.body_field.field_info.annotation.model_validate(body)
        for kind, entity_id in named_ids(path, match.groupdict(), body):
            if method == "PUT":  # a PUT creates what it names (or is the example of a refused write)
                created.add((kind, entity_id))
            assert (kind, entity_id) in created or in_demo_world(kind, entity_id, skills), \
                f"{doc}: {command!r} names {kind} {entity_id!r}, which the demo world does not have"
