"""The console in-process: role access on pages and tables, sign-in with CSRF, pages equal their endpoints."""

from __future__ import annotations

import re
from html import unescape

import pytest

LEAD, CURATOR, ADMIN = "lead-key-0123456789", "curator-key-0123456789", "admin-key-0123456789"
MENTEE_KEY = "mentee-key-0123456789"


@pytest.fixture
def console(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    users = sorted(service_env.world.mentees)
    me, other = users[0], users[1]
    monkeypatch.setenv("SKILLPATH_API_KEYS", f"{LEAD}:lead,{CURATOR}:curator,{MENTEE_KEY}:mentee:{me},{ADMIN}")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        yield c, me, other


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _cells(html: str, endpoint: str) -> list[list[str]]:
    m = re.search(rf'<table data-endpoint="{re.escape(endpoint)}" data-limit="(\d+)">(.*?)</table>', html, re.S)
    assert m, endpoint
    body = m.group(2).split("<tbody>")[1]
    return [[unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _as_cells(rows: list[list]) -> list[list[str]]:
    return [["" if v is None else str(v) for v in r] for r in rows]


def test_a_page_shows_its_endpoints_numbers(console, service_env):
    import sqlite3

    c, _, _ = console
    page = c.get("/ui/programme", headers=_bearer(LEAD))
    assert page.status_code == 200 and "<svg" in page.text
    for name in ("funnel", "cohorts", "mentor-load", "active-weekly"):
        ep = f"/analytics/programme/{name}"
        table = c.get(ep, headers=_bearer(LEAD)).json()
        limit = int(re.search(rf'data-endpoint="{ep}" data-limit="(\d+)"', page.text).group(1))
        assert _cells(page.text, ep) == _as_cells(table["rows"][:limit]), name
    funnel = c.get("/analytics/programme/funnel", headers=_bearer(LEAD)).json()
    assert [r[0] for r in funnel["rows"]] == ["recommended", "started", "completed", "mastered"]
    with sqlite3.connect(service_env.root / "events.db") as db:  # the same counts, straight from the log
        want = [db.execute("SELECT COUNT(DISTINCT user_id || '|' || item_id) FROM events WHERE event_type = ?"
                           + (" AND value >= 50" if t == "assess" else ""), [t]).fetchone()[0]
                for t in ("impression", "start", "complete", "assess")]
    assert [r[1] for r in funnel["rows"]] == want and want[1] > 0


def test_csv_download_has_the_same_rows(console):
    c, _, _ = console
    js = c.get("/analytics/content/freshness", headers=_bearer(CURATOR)).json()
    csv = c.get("/analytics/content/freshness?format=csv", headers=_bearer(CURATOR))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == ",".join(js["columns"]) and len(lines) == len(js["rows"]) + 1
    assert sum(r[2] for r in js["rows"]) > 0


def test_roles_reach_only_their_pages(console):
    c, me, other = console
    assert c.get(f"/ui/mentees/{me}", headers=_bearer(MENTEE_KEY)).status_code == 200
    assert c.get(f"/ui/mentees/{other}", headers=_bearer(MENTEE_KEY)).status_code == 403
    assert c.get("/ui/programme", headers=_bearer(MENTEE_KEY)).status_code == 403
    assert c.get("/analytics/programme/funnel", headers=_bearer(MENTEE_KEY)).status_code == 403
    assert c.get(f"/analytics/mentees/{other}/activity", headers=_bearer(MENTEE_KEY)).status_code == 403
    assert c.get(f"/analytics/mentees/{me}/activity", headers=_bearer(MENTEE_KEY)).status_code == 200
    assert c.get("/ui/programme", headers=_bearer(CURATOR)).status_code == 403
    assert c.get("/ui/content", headers=_bearer(CURATOR)).status_code == 200
    refused = c.get("/analytics/programme/funnel")
    assert refused.status_code == 401 and refused.json()["detail"][0]["loc"] == ["header", "authorization"]
    r = c.get("/ui/programme", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_every_page_renders_for_an_admin(console, service_env):
    c, me, _ = console
    mentor = sorted(service_env.world.mentors)[0]
    for path in ("/ui/programme", "/ui/content", f"/ui/mentees/{me}", f"/ui/mentors/{mentor}", "/ui/models"):
        r = c.get(path, headers=_bearer(ADMIN))
        assert r.status_code == 200, (path, r.text[:300])
        assert "<main>" in r.text


def test_sign_in_sets_an_httponly_cookie_and_forms_need_csrf(console):
    c, _, _ = console
    form = c.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    bad = c.post("/ui/login", content=f"key={LEAD}&csrf=wrong", follow_redirects=False,
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 200 and "expired" in bad.text
    wrong_key = c.post("/ui/login", content=f"key=nope&csrf={token}", follow_redirects=False,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert wrong_key.status_code == 401
    ok = c.post("/ui/login", content=f"key={LEAD}&csrf={token}", follow_redirects=False,
                headers={"content-type": "application/x-www-form-urlencoded"})
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and LEAD not in cookie
    page = c.get("/ui/programme")
    assert page.status_code == 200 and LEAD not in page.text
    assert c.get("/analytics/programme/funnel").status_code == 200  # the cookie reads the tables too
    assert c.post("/ui/logout", content="csrf=wrong",
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 403
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    out = c.post("/ui/logout", content=f"csrf={csrf}", follow_redirects=False,
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert out.status_code == 303
    c.cookies.clear()
    assert c.get("/ui/programme", follow_redirects=False).status_code == 303


def test_the_at_risk_table_is_the_monitors_open_alerts(console):
    c, _, _ = console
    listed = c.get("/monitor/alerts?limit=1000", headers=_bearer(ADMIN)).json()["alerts"]  # waits for the monitor
    table = c.get("/analytics/programme/at-risk", headers=_bearer(LEAD)).json()
    want = sorted(([a["user_id"], a["mentor_id"], a["kind"], a["severity"], a["reason"], a["intervention"]["kind"]]
                   for a in listed), key=lambda r: (-r[3], r[0], r[2]))
    assert table["rows"] == want[:200] and len(want) > 0


def test_a_curator_edits_and_retires_through_the_entity_operations(console, service_env):
    c, _, _ = console
    item = sorted(r.item_id for r in service_env.world.catalog.resources if r.active)[1]
    form = {"content-type": "application/x-www-form-urlencoded"}
    found = c.get(f"/ui/catalog?q={item}", headers=_bearer(CURATOR))
    assert found.status_code == 200 and f'href="/ui/catalog/{item}"' in found.text
    version = c.get(f"/resources/{item}").json()["version"]
    body = f"title=Renamed&difficulty=4&version={version}"
    assert c.post(f"/ui/catalog/{item}", content=body, headers={**form, **_bearer(LEAD)}).status_code == 403
    r = c.post(f"/ui/catalog/{item}", content=body, headers={**form, **_bearer(CURATOR)}, follow_redirects=False)
    assert r.status_code == 303
    stored = c.get(f"/resources/{item}").json()
    assert stored["entity"]["title"] == "Renamed" and stored["entity"]["difficulty"] == 4
    assert stored["version"] == version + 1
    stale = c.post(f"/ui/catalog/{item}", content=body.replace("Renamed", "Again"),
                   headers={**form, **_bearer(CURATOR)})  # the version the form showed is gone: refused
    assert stale.status_code == 412 and c.get(f"/resources/{item}").json()["entity"]["title"] == "Renamed"
    bad = c.post(f"/ui/catalog/{item}", content=f"difficulty=9&version={version + 1}",
                 headers={**form, **_bearer(CURATOR)})
    assert bad.status_code == 400 and "difficulty" in bad.text
    gone = c.post(f"/ui/catalog/{item}/retire", content=f"version={version + 1}",
                  headers={**form, **_bearer(CURATOR)}, follow_redirects=False)
    assert gone.status_code == 303 and c.get(f"/resources/{item}").json()["entity"]["active"] is False
    changes, since = [], 0
    while page := c.get(f"/admin/changes?kind=resources&limit=1000&since={since}",
                        headers=_bearer(ADMIN)).json()["changes"]:
        changes, since = changes + page, page[-1]["seq"]
    assert [ch["op"] for ch in changes if ch["id"] == item][-2:] == ["patch", "patch"]
    assert all(ch["actor"].startswith("curator") for ch in changes if ch["id"] == item and ch["op"] == "patch")
