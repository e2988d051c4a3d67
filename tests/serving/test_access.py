"""Keys with roles: a mentee key asks only for itself, a mentor key for its mentees, writes by role."""

from __future__ import annotations

import pytest

from catalog.errors import ConfigError
from catalog.settings import load_settings, split_key_spec
from serving.access import Principal, authenticate
from tests.serving.conftest import API_KEY

KEYS = f"{API_KEY},lead-key:lead,cur-key:curator,me-key:mentee:u000,other-key:mentee:u001,men-key:mentor:m00"


@pytest.mark.parametrize(("spec", "parsed"), [
    ("k", ("k", "admin", None)), ("k:lead", ("k", "lead", None)), ("k:admin", ("k", "admin", None)),
    ("k:mentee:u00042", ("k", "mentee", "u00042")), ("k:mentor:m026", ("k", "mentor", "m026"))])
def test_key_grammar(spec, parsed):
    assert split_key_spec(spec) == parsed


@pytest.mark.parametrize("spec", [":boss", ":mentee", ":lead:x"])
def test_bad_key_specs_are_config_errors_without_the_key(spec, monkeypatch):
    monkeypatch.setenv("SKILLPATH_API_KEYS", f"secret-k{spec}")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "secret-k" not in str(err.value)
    assert "role" in str(err.value)


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError, match="empty"):
        split_key_spec(":lead")


def test_authenticate_returns_the_role():
    keys = ("a", "b:mentee:u1")
    assert authenticate("Bearer b", keys) == Principal("mentee", "u1", authenticate("Bearer b", keys).key_id)
    assert authenticate("Bearer a", keys).is_admin
    assert authenticate("Bearer c", keys) == "invalid API key"


@pytest.fixture
def roles_client(roles_client_of):
    return roles_client_of(KEYS)


def _as(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_a_mentee_key_reads_only_itself(roles_client):
    c = roles_client
    assert c.post("/recommend", json={"user_id": "u000"}, headers=_as("me-key")).status_code == 200
    r = c.post("/recommend", json={"user_id": "u001"}, headers=_as("me-key"))
    assert r.status_code == 403, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "user_id"] and "me-key" not in r.text
    assert c.post("/path", json={"user_id": "u001"}, headers=_as("me-key")).status_code == 403
    assert c.post("/assistant", json={"user_id": "u001", "message": "what next?"},
                  headers=_as("me-key")).status_code == 403
    for key in ("lead-key", "cur-key", API_KEY):
        assert c.post("/recommend", json={"user_id": "u001"}, headers=_as(key)).status_code == 200


def test_a_wrong_key_on_an_open_read_is_401(roles_client):
    assert roles_client.post("/recommend", json={"user_id": "u000"}, headers=_as("nope")).status_code == 401
    assert roles_client.post("/recommend", json={"user_id": "u001"}).status_code == 200  # no key: open read


def test_a_mentor_key_reads_its_mentees_only(roles_client):
    c = roles_client
    assigned = c.post("/mentors/assign", json={"user_ids": ["u000", "u001", "u002"]}, headers=_as(API_KEY))
    assert assigned.status_code == 200, assigned.text
    pairs = {p["user_id"]: p["mentor_id"] for p in assigned.json()["pairs"] if p["mentor_id"]}
    mentor = pairs["u000"]
    assert c.post("/recommend", json={"user_id": "u000"}, headers=_as(f"mk-{mentor}")).status_code == 200
    others = [u for u, m in pairs.items() if m != mentor] + ["u003"]
    for u in others:
        assert c.post("/recommend", json={"user_id": u}, headers=_as(f"mk-{mentor}")).status_code == 403, u


def test_writes_by_role(roles_client):
    c = roles_client
    event = {"events": [{"event_id": "acc-1", "user_id": "u000", "item_id": "b0-i08", "event_type": "view",
                         "timestamp": "2026-01-01T00:00:00Z"}]}
    for key in ("lead-key", "cur-key", "me-key", "men-key"):
        r = c.post("/events", json=event, headers=_as(key))
        assert r.status_code == 403, (key, r.text)
        assert r.json()["detail"][0]["loc"] == ["header", "authorization"]
    assert c.post("/admin/reload", headers=_as("lead-key")).status_code == 403
    assert c.post("/events", json=event, headers=_as(API_KEY)).status_code == 200
