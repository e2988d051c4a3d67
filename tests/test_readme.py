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
