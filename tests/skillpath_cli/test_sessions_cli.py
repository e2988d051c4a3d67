"""``skillpath sessions``: add, list, import (CSV and JSONL, --dry-run, all or nothing), feedback."""

from __future__ import annotations

import csv
import json

from catalog.datadir import DataDir
from catalog.session_store import SessionStore
from catalog.sessions import CSV_COLUMNS, MAX_TRANSCRIPT_CHARS
from skillpath_cli.main import cli, run_cli

TRANSCRIPT = ("Mentor: How did the pandas exercises go?\nMentee: I finished them. How should I start with SQL?\n"
              "Mentor: For next week, read the first SQL chapter.\nMentee: I'll do the SQL exercises by Friday.")


def run(capsys, dd: DataDir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(dd.root), "sessions", *args])
    out, err = capsys.readouterr()
    return code, out, err


def record(sid: str, mentor: str = "m1", mentee: str = "u1", day: int = 1, **kw) -> dict:
    return {"session_id": sid, "mentor_id": mentor, "mentee_id": mentee, "started_at": f"2026-11-{day:02d}T10:00:00Z",
            "duration_minutes": 45, "channel": "video", **kw}


def test_add_then_list_with_the_analysis(capsys, data, tmp_path):
    t = tmp_path / "t.txt"
    t.write_text(TRANSCRIPT)
    args = ["add", "--session-id", "s-1", "--mentor", "m1", "--mentee", "u1", "--started-at", "2026-11-02T10:00",
            "--duration", "45", "--transcript", str(t), "--rating-mentee", "4", "--action-item", "Practise joins"]
    code, out, err = run(capsys, data, *args)
    assert (code, err) == (0, "") and out.strip() == "session s-1: stored"
    code, out, _ = run(capsys, data, *args)
    assert code == 0 and "already stored" in out
    code, out, _ = run(capsys, data, "list", "--mentee", "u1", "--format", "json")
    (s,) = [json.loads(ln) for ln in out.splitlines()]
    assert s["transcript"] == TRANSCRIPT and s["texts"] == "included" and s["ratings"]["mentee"] == 4
    assert "sql" in s["analysis"]["skills"] and s["analysis"]["mentee_questions"] == 1
    code, out, _ = run(capsys, data, "list", "--mentor", "m1")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["session_id", "mentor_id", "mentee_id"]
    assert out.splitlines()[2].split()[:3] == ["s-1", "m1", "u1"]
    code, _, err = run(capsys, data, "add", "--session-id", "s-2", "--mentor", "m9", "--mentee", "u1",
                        "--started-at", "2026-11-02", "--duration", "45")
    assert code == 2 and "unknown mentor 'm9'" in err
    assert run(capsys, data, "list")[0] == 2


def test_import_jsonl_and_csv_dry_run_idempotent(capsys, data, tmp_path):
    jl = tmp_path / "s.jsonl"
    jl.write_text("\n".join(json.dumps(record(f"j-{k}", day=k + 1, transcript=TRANSCRIPT)) for k in range(3)) + "\n")
    code, out, err = run(capsys, data, "import", str(jl), "--dry-run")
    assert code == 0 and "3 valid sessions, 3 new, 0 already stored; nothing stored" in out
    with SessionStore(data.events_db) as store:
        assert store.count() == 0
    code, out, _ = run(capsys, data, "import", str(jl))
    assert code == 0 and "3 accepted, 0 duplicates" in out
    code, out, _ = run(capsys, data, "import", str(jl))
    assert code == 0 and "0 accepted, 3 duplicates" in out
    path = tmp_path / "s.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        w.writerow({**{c: "" for c in CSV_COLUMNS}, **record("c-1", mentee="u2"), "rating_mentee": "5",
                    "skills_discussed": "sql;python", "action_items": "Read the docs;Write a query"})
    code, out, _ = run(capsys, data, "import", str(path))
    assert code == 0 and "1 accepted" in out
    with SessionStore(data.events_db) as store:
        (c,) = store.by_mentee("u2")
        assert c.session.skills_discussed == ("sql", "python") and c.session.ratings.mentee == 5
        assert store.count() == 4


def test_a_bad_file_stores_nothing_and_names_every_row(capsys, data, tmp_path):
    jl = tmp_path / "bad.jsonl"
    rows = [record("ok-1"), record("b-1", mentee="u-ghost"), record("b-2", transcript="x" * (MAX_TRANSCRIPT_CHARS + 1)),
            record("b-3", channel="pigeon")]
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, err = run(capsys, data, "import", str(jl))
    assert code == 2 and out == ""
    assert "2: mentee_id: unknown mentee 'u-ghost'" in err and "3: transcript:" in err and "4: channel:" in err
    with SessionStore(data.events_db) as store:
        assert store.count() == 0
    run(capsys, data, "import", str(_one(tmp_path, record("ok-1"))))
    code, _, err = run(capsys, data, "import", str(_one(tmp_path, record("ok-1", duration_minutes=50))))
    assert code == 2 and "'ok-1' already stored with a different body" in err
    assert run(capsys, data, "import", str(tmp_path / "bad.jsonl").replace(".jsonl", ".txt"))[0] == 2


def _one(tmp_path, rec: dict):
    p = tmp_path / f"{rec['session_id']}-{rec['duration_minutes']}.jsonl"
    p.write_text(json.dumps(rec) + "\n")
    return p


def test_feedback_names_what_to_work_on(capsys, data, tmp_path):
    plain = "Mentor: How are things?\nMentee: Fine. Work was busy.\nMentor: Good to hear."
    jl = tmp_path / "s.jsonl"
    jl.write_text("\n".join(json.dumps(record(f"p-{k}", day=1 + 10 * k, transcript=plain)) for k in range(3)) + "\n")
    assert run(capsys, data, "import", str(jl))[0] == 0
    code, out, err = run(capsys, data, "feedback", "m1", "--as-of", "2026-11-30")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "Feedback for m1 as of 2026-11-30:"
    assert "  - 3 sessions without an action item" in out.splitlines()
    code, out, _ = run(capsys, data, "feedback", "m1", "--as-of", "2026-11-30", "--format", "json")
    (pair,) = json.loads(out)["pairs"]
    assert pair["mentee_id"] == "u1" and pair["sessions"] == 3
    code, _, err = run(capsys, data, "feedback", "m-nobody")
    assert code == 2 and err.strip() == "error: unknown mentor: 'm-nobody'"
