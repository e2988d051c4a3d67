"""``/docs`` in a real headless Chromium, with every request off this machine refused.

The service (BentoML's ASGI app, as ``bentoml serve`` runs it) listens on a loopback port
in a thread; the page may load only from it. Swagger UI must render every route of the
OpenAPI document and log no console error.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.serving.test_openapi import ROUTES

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def base_url(asgi_app, service_env):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_docs_render_offline_and_list_every_route(base_url):
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    console_errors: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.route("**/*", only_loopback)
            page.goto(f"{base_url}/", wait_until="networkidle")  # `/` points at the docs
            assert page.url == f"{base_url}/docs"
            page.wait_for_selector(".opblock", timeout=30_000)
            shown = page.eval_on_selector_all(
                ".opblock", "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
                            " e.querySelector('.opblock-summary-path').getAttribute('data-path')])")
            title = page.text_content(".information-container .title")
        finally:
            browser.close()
    assert {(m.lower(), path) for m, path in shown} == ROUTES
    assert title and "SkillPath" in title
    assert not console_errors, console_errors
    assert not blocked, blocked  # nothing tried to leave the machine: every asset is served locally
