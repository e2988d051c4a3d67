from __future__ import annotations

import csv
import io
import json


from catalog.datadir import DataDir
from skillpath_cli.main import cli, run_cli


def run(capsys, dd: DataDir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(dd.root), "mentors", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_match_ranks_with_reasons(capsys, data):
    code, out, err = run(capsys, data, "match", "u1")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == ("Mentors for u1; next skills: Prompt engineering, SQL, pandas, Machine learning, "
                        "LLM applications")
    assert lines[1].split() == ["rank", "mentor_id", "name", "score", "coverage", "free_places"]
    assert lines[3].split()[:3] == ["1", "m2", "Grace"] and lines[4].split()[:3] == ["2", "m1", "Ada"]
    assert "  1. Grace: covers 2 of your 5 next skills: Prompt engineering, LLM applications; 1 free place" in lines

    code, out, _ = run(capsys, data, "match", "u2", "--k", "1", "--format", "json")
    (row,) = [json.loads(ln) for ln in out.splitlines()]
    assert row["mentor_id"] == "m1" and row["covers"] == "python;pandas" and row["free_places"] == 2


def test_match_counts_current_load(capsys, data, tmp_path):
    taken = tmp_path / "a.csv"
    taken.write_text("user_id,mentor_id\nu2,m2\n")
    code, out, _ = run(capsys, data, "match", "u1", "--assignment", str(taken), "--format", "json")
    assert code == 0 and [json.loads(ln)["mentor_id"] for ln in out.splitlines()] == ["m1"]
    taken.write_text("user_id,mentor_id\nu2,m7\n")
    code, out, err = run(capsys, data, "match", "u1", "--assignment", str(taken))
    assert code == 2 and out == "" and err.startswith("error: unknown mentor: 'm7'")


def test_unknown_ids_exit_2_with_one_line(capsys, data, tmp_path):
    code, out, err = run(capsys, data, "match", "nobody")
    assert code == 2 and out == "" and err.strip() == "error: unknown mentee: 'nobody'"
    cohort = tmp_path / "cohort.txt"
    cohort.write_text("u1\nzz\n")
    code, out, err = run(capsys, data, "assign", "--cohort", str(cohort))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "unknown mentee: 'zz'" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,mentor_id\nu1,m9\n")
    code, _, err = run(capsys, data, "rematch", "--assignment", str(bad))
    assert code == 2 and err.startswith("error: unknown mentor: 'm9'")
    code, _, err = run(capsys, data, "rematch")
    assert code == 2 and "skillpath mentors assign --out" in err


def test_assign_prints_pairs_quality_and_writes_file(capsys, data, tmp_path):
    out_file = tmp_path / "assignment.csv"
    code, out, err = run(capsys, data, "assign", "--out", str(out_file))
    assert code == 0 and err == ""
    assert out.startswith("Assignment (optimal) of 2 mentees to 2 mentors (3 places):")
    pairs = {ln.split()[0]: ln.split()[1] for ln in out.splitlines() if ln.startswith(("u1 ", "u2 "))}
    assert pairs == {"u1": "m2", "u2": "m1"}
    quality = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.split()[:1] in (["optimal"], ["greedy"],
                                                                                           ["random"])}
    assert set(quality) == {"optimal", "greedy", "random"}
    assert quality["optimal"][1:3] == ["2", "0"]  # matched, unmatched
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [(r["user_id"], r["mentor_id"]) for r in rows] == [("u1", "m2"), ("u2", "m1")]


def test_assign_cohort_csv_method_and_json(capsys, data, tmp_path):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("user_id,note\nu2,x\n")
    code, out, _ = run(capsys, data, "assign", "--cohort", str(cohort), "--method", "greedy", "--no-compare",
                       "--format", "json")
    assert code == 0
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [(r["kind"], r["user_id"], r["mentor_id"]) for r in rows if r["kind"] == "pair"] == [("pair", "u2", "m1")]
    (q,) = [r for r in rows if r["kind"] == "quality"]
    assert q["method"] == "greedy" and q["matched"] == 1 and q["needs_total"] == 3
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,x\nu1,1\n")
    code, _, err = run(capsys, data, "assign", "--cohort", str(nocol))
    assert code == 2 and "no user_id column" in err


def test_rematch_after_progress(capsys, data, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("user_id,mentor_id\nu1,m1\nu2,m2\n")
    code, out, err = run(capsys, data, "rematch", "--assignment", str(path))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "1 of 2 matched mentees have a mentor who covers less than 33% of their next 5 skills."
    assert lines[2].startswith("u2 (mentor m2, covers 0%): Grace covers none of your 3 next skills")
    assert lines[3].startswith("  1. m1 Ada (score ") and "covers 2 of your 3 next skills: Python, pandas" in lines[3]

    code, out, _ = run(capsys, data, "rematch", "--assignment", str(path), "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["user_id"], row["alt_mentor_id"], row["alt_free_places"]) == ("u2", "m1", "1")

    path.write_text("user_id,mentor_id\nu1,m2\nu2,m1\n")
    code, out, _ = run(capsys, data, "rematch", "--assignment", str(path))
    assert code == 0 and out.splitlines() == [
        "0 of 2 matched mentees have a mentor who covers less than 33% of their next 5 skills."]


def test_help_explains():
    from click.testing import CliRunner

    res = CliRunner().invoke(cli, ["mentors", "--help"])
    assert res.exit_code == 0 and "half credit one level below" in res.output
    res = CliRunner().invoke(cli, ["mentors", "assign", "--help"])
    assert res.exit_code == 0 and "linear assignment" in res.output


def test_undecodable_cohort_and_assignment_files_are_one_line_errors(capsys, data, tmp_path):
    for name in ("cohort.csv", "cohort.txt"):
        bad = tmp_path / name
        bad.write_bytes(b"user_id\n\xff\xfe\x00u1\n")
        code, _, err = run(capsys, data, "assign", "--cohort", str(bad))
        assert code == 2 and len(err.strip().splitlines()) == 1 and name in err and "UTF-8" in err
    bad = tmp_path / "assignment.csv"
    bad.write_bytes(b"user_id,mentor_id\n\xff\xfe,m1\n")
    code, _, err = run(capsys, data, "rematch", "--assignment", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "assignment.csv" in err
