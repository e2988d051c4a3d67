"""``/docs`` in a real headless Chromium, with every request off this machine refused.

The service (BentoML's ASGI app, as ``bentoml serve`` runs it) listens on a loopback port
in a thread; the page may load only from it. Swagger UI must render every route of the
OpenAPI document and log no console error.
"""

from __future__ import annotations

import pytest

from tests.serving.browser import app_url, offline_page  # noqa: F401  (the served-app fixture)
from tests.serving.test_openapi import ROUTES

pytestmark = pytest.mark.integration


def test_docs_render_offline_and_list_every_route(app_url):  # noqa: F811
    with offline_page() as (page, seen):
        page.goto(f"{app_url}/", wait_until="networkidle")  # `/` points at the docs
        assert page.url == f"{app_url}/docs"
        page.wait_for_selector(".opblock", timeout=30_000)
        shown = page.eval_on_selector_all(
            ".opblock", "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
                        " e.querySelector('.opblock-summary-path').getAttribute('data-path')])")
        title = page.text_content(".information-container .title")
    assert {(m.lower(), path) for m, path in shown} == ROUTES
    assert title and "SkillPath" in title
    assert not seen.errors, seen.errors
    assert not seen.blocked, seen.blocked  # nothing tried to leave the machine: every asset is app_url locally
