"""Tiny deterministic fixtures shared by every test package."""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from datetime import datetime, timezone

import pytest

from catalog.catalog import Catalog, World
from catalog.schema import Goal, Mentee, Mentor, Resource, Skill, SkillLevel

UTC = timezone.utc


def _sl(s: str) -> tuple[SkillLevel, ...]:
    return tuple(SkillLevel(p.split(":")[0], int(p.split(":")[1])) for p in s.split(";") if p)


@pytest.fixture
def tiny_skills() -> list[Skill]:
    """python -> pandas -> ml -> llm-apps; sql -> pandas; prompting (fast) -> llm-apps."""
    return [
        Skill("python", "Python", "software", 1460.0),
        Skill("sql", "SQL", "data", None),
        Skill("pandas", "pandas", "data", 730.0, _sl("python:3;sql:2")),
        Skill("ml", "Machine learning", "ai", 730.0, _sl("pandas:3")),
        Skill("prompting", "Prompt engineering", "ai", 120.0),
        Skill("llm-apps", "LLM applications", "ai", 180.0, _sl("ml:3;prompting:2")),
    ]


@pytest.fixture
def tiny_resources() -> list[Resource]:
    d = lambda y, m, day=1: datetime(y, m, day, tzinfo=UTC)  # noqa: E731
    return [
        Resource("py-101", "Python basics", "course", _sl("python:1"), d(2020, 1), difficulty=1, duration_minutes=300),
        Resource("py-201", "Idiomatic Python", "book", _sl("python:3"), d(2019, 6), difficulty=3, duration_minutes=600),
        Resource("sql-101", "SQL in a day", "tutorial", _sl("sql:2"), d(2015, 3), difficulty=2, duration_minutes=120),
        Resource("pd-101", "pandas intro", "video", _sl("pandas:2;python:2"), d(2022, 5), updated_at=d(2024, 5), difficulty=2, duration_minutes=45),
        Resource("ml-101", "ML crash course", "course", _sl("ml:3"), d(2023, 1), difficulty=3, duration_minutes=900),
        Resource("pr-101", "Prompting 101", "article", _sl("prompting:2"), d(2024, 1), difficulty=2, duration_minutes=20),
        Resource("pr-new", "Prompting in 2026", "article", _sl("prompting:3"), d(2026, 9), difficulty=3, duration_minutes=25),
        Resource("llm-101", "Build an LLM app", "project", _sl("llm-apps:3;prompting:2"), d(2025, 11), difficulty=4, duration_minutes=240),
        Resource("llm-old", "LLM apps (2023)", "video", _sl("llm-apps:2"), d(2023, 3), difficulty=3, duration_minutes=60, half_life_days=90.0),
        Resource("docs-x", "Some API docs", "documentation", _sl("sql:1"), d(2025, 1), difficulty=1, duration_minutes=10, active=False),
    ]


@pytest.fixture
def tiny_catalog(tiny_skills, tiny_resources) -> Catalog:
    return Catalog(tiny_skills, tiny_resources)


@pytest.fixture
def tiny_world(tiny_skills, tiny_resources) -> World:
    mentees = [
        Mentee("u1", (Goal("llm-apps", 3),), _sl("python:3"), ("article", "video"), 180),
        Mentee("u2", (Goal("pandas", 3),), (), (), 120),
    ]
    mentors = [
        Mentor("m1", "Ada", _sl("python:5;pandas:4;ml:4"), capacity=2),
        Mentor("m2", "Grace", _sl("prompting:5;llm-apps:5"), capacity=1),
    ]
    return World.build(tiny_skills, tiny_resources, mentees, mentors)


@pytest.fixture
def as_of() -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL server for the session (started on first use; ``make postgres`` installs it)."""
    from tests.pg_server import PostgresServer

    with PostgresServer() as pg:
        yield pg


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A fresh, empty database on the session's server; its URL."""
    import re

    import psycopg

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{id(request) % 100000}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def at_once():
    """Runs ``target(k)`` for k in 0..n-1 on n threads started together and returns what they raised.

    A thread's exception is otherwise printed and lost: the test would see only its effect, so every
    concurrency test collects them the same way and asserts there are none."""
    import threading

    def run(target, n: int) -> list[BaseException]:
        errors: list[BaseException] = []

        def guarded(k: int) -> None:
            try:
                target(k)
            except BaseException as e:  # noqa: BLE001 - returned to the test
                errors.append(e)
        threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors
    return run
