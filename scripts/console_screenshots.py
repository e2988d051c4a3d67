"""Screenshots of every console page for docs/console/ (Chromium via Playwright, loopback only).

    .venv/bin/python scripts/console_screenshots.py http://127.0.0.1:3000 LEAD_KEY MENTEE_ID MENTOR_ID
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "console"


def main(base: str, key: str, mentee: str, mentor: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pages = {"programme": "/ui/programme", "content": "/ui/content", "mentee": f"/ui/mentees/{mentee}",
             "mentor": f"/ui/mentors/{mentor}", "models": "/ui/models", "catalog": "/ui/catalog"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            for name, size in (("", {"width": 1280, "height": 900}), ("-phone", {"width": 390, "height": 844})):
                ctx = browser.new_context(viewport=size, device_scale_factor=1,
                                          extra_http_headers={"authorization": f"Bearer {key}"})
                page = ctx.new_page()
                for slug, path in pages.items():
                    if name and slug not in ("programme", "mentee"):
                        continue
                    page.goto(base + path, wait_until="networkidle", timeout=120_000)
                    page.screenshot(path=str(OUT / f"{slug}{name}.png"), full_page=not name, clip=None)
                ctx.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
