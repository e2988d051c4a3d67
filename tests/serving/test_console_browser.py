"""The console in a real headless Chromium against the served app, with every request off this machine refused.

Signs in through the form (the session cookie, not a header), opens every page, and checks: no console
error, no failed request, charts drawn, a page's numbers equal its endpoint's, a mentee cannot open
another mentee's page (403), and the chat panel answers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.serving.test_docs_browser import ARGS, CHROMIUM, base_url  # noqa: F401  (the served-app fixture)

pytestmark = pytest.mark.integration

LEAD, MENTEE = "lead-key-0123456789", "mentee-key-0123456789"


@pytest.fixture
def keys(service_env, monkeypatch):
    users = sorted(service_env.world.mentees)
    monkeypatch.setenv("SKILLPATH_API_KEYS", f"{LEAD}:lead,{MENTEE}:mentee:{users[0]}")
    return users[0], users[1], sorted(service_env.world.mentors)[0]


@pytest.fixture
def base(keys, base_url):  # noqa: F811  (keys first: the server reads them when it starts)
    return base_url


def _sign_in(page, base: str, key: str) -> None:
    page.goto(f"{base}/ui", wait_until="load")
    assert page.url.endswith("/ui/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def test_console_pages_offline(base, keys):
    from playwright.sync_api import sync_playwright

    me, other, mentor = keys
    blocked: list[str] = []
    errors: list[str] = []
    failed: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.route("**/*", only_loopback)
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # A request the browser itself cancelled (the page navigated away while the favicon
            # loaded: net::ERR_ABORTED) is not a failed answer; every other failure is.
            page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "") else failed.append(
                f"{r.url} {r.failure}"))
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            _sign_in(page, base, LEAD)
            assert page.url.endswith("/ui/programme")
            for path, charts in (("/ui/programme", 3), ("/ui/content", 1), (f"/ui/mentees/{me}", 1),
                                 (f"/ui/mentors/{mentor}", 0), ("/ui/models", 0)):
                page.goto(base + path, wait_until="networkidle")
                assert page.locator("main h1").count() == 1, path
                assert page.locator("svg.chart").count() >= charts, path
            # the funnel's numbers on the page are the endpoint's
            page.goto(base + "/ui/programme", wait_until="networkidle")
            shown = page.eval_on_selector('table[data-endpoint="/analytics/programme/funnel"]',
                                          "t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent))")
            api = page.request.get(base + "/analytics/programme/funnel").json()
            assert shown == [[str(v) for v in r] for r in api["rows"]]
            page.context.clear_cookies()

            _sign_in(page, base, MENTEE)
            assert page.url.endswith(f"/ui/mentees/{me}")
            page.fill("#chat-input", "what should I do next?")
            page.click("#chat-form button")
            page.wait_for_function("document.querySelectorAll('#chat-log p').length >= 2", timeout=30_000)
            answer = page.text_content("#chat-log")
            seen_errors = list(errors)  # before the refusal below, which Chromium logs as an error
            resp = page.goto(f"{base}/ui/mentees/{other}", wait_until="load")
            assert resp is not None and resp.status == 403
            failed.remove(f"403 {base}/ui/mentees/{other}")  # the one refusal this test asked for
        finally:
            browser.close()
    assert "Mentor:" in answer and "Error" not in answer, answer
    assert not seen_errors, seen_errors
    assert not failed, failed
    assert not blocked, blocked
