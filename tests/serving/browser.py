"""One way for every browser test to drive Debian's Chromium (Playwright) against the served app, offline.

``app_url`` runs the app (BentoML's ASGI app, as ``bentoml serve`` runs it) on a loopback port in a
thread; :func:`offline_page` launches Chromium with a context whose every request off 127.0.0.1 is
refused and recorded, and collects console errors and failed requests, so a test asserts on them.
Import the fixtures into a test module (``from tests.serving.browser import app_url  # noqa: F401``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = ["CHROMIUM", "ARGS", "app_url", "offline_page", "Seen"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def app_url(asgi_app, service_env) -> Iterator[str]:
    """The app on a free loopback port: its base URL."""
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


@dataclass
class Seen:
    """What the page did wrong: console errors, failed requests (>= 400 or a network failure other than
    a navigation the browser itself cancelled), and requests refused for leaving the machine."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextmanager
def offline_page(viewport: dict[str, int] | None = None) -> Iterator[tuple[Any, Seen]]:
    """A Chromium page that may load only from 127.0.0.1, and what it saw; the browser closes after."""
    from playwright.sync_api import sync_playwright

    seen = Seen()

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            seen.blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
            ctx.route("**/*", only_loopback)
            page = ctx.new_page()
            page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.errors.append(str(e)))
            page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "") else seen.failed.append(
                f"{r.url} {r.failure}"))
            page.on("response", lambda r: seen.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            yield page, seen
        finally:
            browser.close()
