"""The optional LLM rephrasing against a loopback server speaking the OpenAI chat-completions protocol.

A good answer is used; a timeout, a trickle past the deadline, a 500, a malformed body, an
unknown id, another resource's id or a number not in the facts leave the grounded text.
The request carries the grounded answer and its cards only: no key, no mentee id, no message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from serving.phrasing import SYSTEM_PROMPT, is_grounded
from tests.serving.conftest import API_KEY

pytestmark = pytest.mark.integration

TIMEOUT_S = 0.5
MESSAGE = "is there a video on Block 2 for my thesis?"


class FakeLLM(ThreadingHTTPServer):
    """Answers ``POST /v1/chat/completions`` as ``mode`` says; records every request body."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "good"
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLM

    def log_message(self, *args: Any) -> None:  # keep pytest's output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.requests.append(body)
        self.server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path != "/v1/chat/completions":
            return self._send(404, b"{}")
        facts = json.loads(body["messages"][1]["content"])
        mode = self.server.mode
        reply = {
            "good": "Good news! " + facts["answer"].replace("I found", "Here are"),
            "unknown_id": facts["answer"] + "\nAlso try r99999.",
            "other_item": facts["answer"] + "\nAlso try Block 1 item 4 (b1-i04).",
            "number": facts["answer"] + "\nIt takes about 45 minutes.",
        }.get(mode, facts["answer"])
        if mode == "error":
            return self._send(500, b'{"error": "boom"}')
        if mode == "garbage":
            return self._send(200, b"not json")
        if mode == "slow":
            time.sleep(TIMEOUT_S * 3)
        payload = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": reply}}]}).encode()
        if mode == "trickle":  # headers at once, then the body a byte at a time: past the total deadline
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            for i in range(len(payload)):
                self.wfile.write(payload[i:i + 1])
                self.wfile.flush()
                time.sleep(0.02)
            return None
        return self._send(200, payload)

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def llm_client(asgi_app, service_env, llm, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_ASSISTANT__LLM_URL", llm.url)
    monkeypatch.setenv("SKILLPATH_ASSISTANT__LLM_MODEL", "tiny-local")
    monkeypatch.setenv("SKILLPATH_ASSISTANT__LLM_TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("SKILLPATH_ASSISTANT__LLM_API_KEY", "llm-endpoint-key")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        c.headers.update({"authorization": f"Bearer {API_KEY}"})
        yield c


def _ask(client) -> dict[str, Any]:
    r = client.post("/assistant", json={"user_id": "u003", "message": MESSAGE})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_grounded_rewording_is_used(llm_client, llm):
    resp = _ask(llm_client)
    assert resp["text_source"] == "llm" and resp["text"].startswith("Good news! Here are 3 videos on Block 2")
    assert [c["item_id"] for c in resp["cards"]] == ["b2-i01", "b2-i06", "b2-i11"]  # cards never change
    body = llm.requests[-1]
    assert body["model"] == "tiny-local" and body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    facts = json.loads(body["messages"][1]["content"])
    assert set(facts) == {"answer", "cards"} and facts["answer"].startswith("I found 3 videos on Block 2")
    assert [c["item_id"] for c in facts["cards"]] == ["b2-i01", "b2-i06", "b2-i11"]
    sent = json.dumps(body)
    assert API_KEY not in sent and "u003" not in sent and "thesis" not in sent
    assert llm.headers_seen[-1]["authorization"] == "Bearer llm-endpoint-key"  # its own key, in the header only


@pytest.mark.parametrize("mode", ["slow", "trickle", "error", "garbage", "unknown_id", "other_item", "number"])
def test_any_failure_returns_the_grounded_text(llm_client, llm, mode):
    llm.mode = mode
    t0 = time.monotonic()
    resp = _ask(llm_client)
    assert resp["text_source"] == "grounded"
    assert resp["text"] == ("I found 3 videos on Block 2:\n1. Block 2 item 1 (video, 30 min)\n"
                            "2. Block 2 item 6 (video, 30 min)\n3. Block 2 item 11 (video, 30 min)")
    assert len(llm.requests) == 1
    if mode in ("slow", "trickle"):
        assert time.monotonic() - t0 < TIMEOUT_S * 3  # the deadline cut the call, the answer did not wait it out


def test_is_grounded():
    facts = json.dumps({"answer": "1. Block 2 item 1 (video, 30 min), updated 2026-01-07, freshness 50%",
                        "cards": [{"item_id": "b2-i01", "freshness": 0.5}]})
    known = {"b2-i01", "b2-i06", "block2", "m-a"}
    assert is_grounded("Try Block 2 item 1 (b2-i01): a 30-minute video, updated on 7 January 2026.", facts, known)
    assert is_grounded("Freshness is 0.50, i.e. 50 %.", facts, known)
    assert not is_grounded("Try b2-i06 as well.", facts, known)      # a real id that is not in the facts
    assert not is_grounded("Try x7 as well.", facts, known)          # an invented id
    assert not is_grounded("It takes 31 minutes.", facts, known)     # a number that is not in the facts
    assert not is_grounded("Ask m-a for help.", facts, known)
    assert not is_grounded("   ", facts, known) and not is_grounded("ok " * 2000, facts, known)
