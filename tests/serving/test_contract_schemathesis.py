"""schemathesis over the whole OpenAPI document against the real server, with every check: 0 failures.

`python -m bentoml serve` on a free loopback port serves the tiny world; `st run
/openapi.json --checks all` generates examples, boundary cases, fuzzed and stateful
requests (a bounded number per operation, seeded), and checks each answer against the
document: status codes, content types, headers, schemas, 405 with ``Allow`` for undocumented
methods, refusal of invalid data, acceptance of valid data (a 400 only for an unknown id
or an event rule: ``schemathesis_hooks.py``), auth. The server's log must stay quiet meanwhile:
one line per rejected request, no traceback, no warning.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY
from tests.serving.test_integration import _free_port, _wait_ready

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
EXAMPLES_PER_OPERATION = 10
#: What the server may log while schemathesis runs: our one line per rejected request, and
#: uvicorn's one line per request it cannot parse as HTTP (schemathesis sends a few on purpose).
_QUIET = re.compile(r"\[INFO\] \[[^]]+\] rejected [A-Z]+ /|\[WARNING\] \[[^]]+\] Invalid HTTP request received\.")


def test_schemathesis_checks_all_with_no_failure(served, tmp_path):
    port = _free_port()
    argv, env = serve_command(served.root, host="127.0.0.1", port=port, workers=1, model_dir=served.model_dir)
    env.update(SKILLPATH_API_KEYS=API_KEY)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log_path)
        started = len(log_path.read_text().splitlines())
        # BentoML's own routes, through the real router: a wrong method is our 405, not BentoML's text
        r = httpx.put(f"{base}/livez")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD" and r.json()["detail"][0]["loc"] == ["method"]
        assert httpx.get(f"{base}/no/such/route").headers["content-type"] == "application/json"
        assert httpx.get(f"{base}/metrics").status_code == 200
        st = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"), "run",
              f"{base}/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES_PER_OPERATION),
              "--seed", "7", "--workers", "1", "--generation-database", "none", "--no-color",
              "--request-timeout", "30", "--header", f"Authorization: Bearer {API_KEY}"]
        run = subprocess.run(st, env={**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")},
                             capture_output=True, text=True, timeout=900, cwd=tmp_path)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-6000:]
        summary = re.search(r"(\d+) generated, (\d+) passed", out)
        assert summary and int(summary[1]) >= 200 and summary[1] == summary[2], out[-2000:]
        assert "Tested: 14" in out, out[-2000:]  # every operation of the document, BentoML's four included

        lines = log_path.read_text().splitlines()[started:]
        noisy = [line for line in lines if not _QUIET.search(line)]
        assert not noisy, "\n".join(noisy[:20])
        assert sum("rejected" in line for line in lines) > 50  # the run is mostly refusals: one line each
    finally:  # SIGTERM first: BentoML stops its workers (they live in sessions of their own)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
