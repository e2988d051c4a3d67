"""Optional rephrasing of the virtual mentor's grounded answer by an OpenAI-compatible chat endpoint.

The language model sees only the grounded answer: its ``text`` and its ``cards`` (what
the mentee is being told anyway). Never the message, the mentee id, SkillPath's keys or
anyone else's data. Its reply is used only when it names no id and no number that the
facts do not contain (:func:`is_grounded`); any failure, a timeout (a total deadline,
also against a server that trickles bytes), an error status, a malformed body or an
ungrounded reply returns None, and the caller keeps the grounded text.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Collection, Sequence
from typing import Any

import httpx

__all__ = ["Phraser", "is_grounded", "SYSTEM_PROMPT", "MAX_REPLY_CHARS"]

log = logging.getLogger("skillpath.assistant")

SYSTEM_PROMPT = (
    "You rephrase the answers of SkillPath, a learning assistant, for a mentee. Rewrite ANSWER in a warm, "
    "concise tone. Use only the facts in ANSWER and CARDS: never add a resource, mentor, skill, number, date, "
    "link or id that is not there, keep every title exactly, and keep lists as lists. Reply with the rephrased "
    "answer only."
)
MAX_REPLY_CHARS = 4000
_MAX_BODY_BYTES = 256 * 1024
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TOKEN = re.compile(r"[A-Za-z0-9_.:@-]+")
_MIXED = re.compile(r"(?=.*[A-Za-z])(?=.*\d)")
_ID_PARTS = re.compile(r"[_.:@-]")


def _numbers(text: str) -> set[str]:
    out = set()
    for n in _NUMBER.findall(text):
        whole, _, frac = n.partition(".")
        whole = whole.lstrip("0") or "0"
        frac = frac.rstrip("0")
        out.add(f"{whole}.{frac}" if frac else whole)
    return out


def _tokens(text: str) -> set[str]:
    return {t.strip(".:-@").lower() for t in _TOKEN.findall(text)} - {""}


def is_grounded(reply: str, facts: str, known_ids: Collection[str]) -> bool:
    """Whether ``reply`` names only numbers and ids found in ``facts`` (the grounded text and cards).

    A number counts by value ("07" is "7", "0.50" is "0.5"). An id is a word of the reply
    that is one of ``known_ids`` (lower case; the data's item, mentor, mentee and skill
    ids) or has a part mixing letters and digits ("r04013", "b2-i01"; not "30-minute"); each
    must be a word of ``facts``.
    """
    if not reply.strip() or len(reply) > MAX_REPLY_CHARS:
        return False
    if not _numbers(reply) <= _numbers(facts):
        return False
    fact_tokens = _tokens(facts)
    for tok in _tokens(reply) - fact_tokens:
        if tok in known_ids or any(_MIXED.match(part) for part in _ID_PARTS.split(tok)):
            return False
    return True


class Phraser:
    """Calls ``url`` (a base such as ``http://host/v1`` or the full ``.../chat/completions``) once per answer.

    ``known_ids`` are lower-cased ids of the data (see :func:`is_grounded`); ``transport``
    replaces the network in tests. Thread-safe: one ``httpx.Client`` shared by callers.
    """

    def __init__(self, url: str, *, model: str, timeout_s: float, known_ids: Collection[str],
                 api_key: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url if url.rstrip("/").endswith("/chat/completions") else url.rstrip("/") + "/chat/completions"
        self.model, self.timeout_s, self.known_ids = model, float(timeout_s), known_ids
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s), headers=headers, transport=transport,
                                    follow_redirects=False, trust_env=False)

    def request_body(self, text: str, cards: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The chat-completions request: the grounded answer and its cards, nothing else."""
        facts = json.dumps({"answer": text, "cards": list(cards)}, ensure_ascii=False, default=str)
        return {"model": self.model, "temperature": 0.2, "max_tokens": 600, "stream": False,
                "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": facts}]}

    def rephrase(self, text: str, cards: Sequence[dict[str, Any]]) -> str | None:
        """The model's wording of ``text`` if it stayed within the facts, else None (never raises)."""
        body = self.request_body(text, cards)
        try:
            reply = self._call(body)
        except Exception as e:  # any failure of an optional nicety: the grounded text stands
            log.warning("assistant rephrasing skipped: %s", type(e).__name__ if not str(e) else str(e)[:200])
            return None
        if not is_grounded(reply, body["messages"][1]["content"], self.known_ids):
            log.warning("assistant rephrasing rejected: it names an id or number that is not in the facts")
            return None
        return reply.strip()

    def _call(self, body: dict[str, Any]) -> str:
        deadline = time.monotonic() + self.timeout_s
        chunks, size = [], 0
        with self._client.stream("POST", self.url, json=body) as r:
            if r.status_code != 200:
                raise RuntimeError(f"status {r.status_code} from the LLM endpoint")
            for chunk in r.iter_bytes():
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no complete answer within {self.timeout_s:g} s")
                if size > _MAX_BODY_BYTES:
                    raise RuntimeError("LLM answer too large")
                chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete answer within {self.timeout_s:g} s")
        content = json.loads(b"".join(chunks))["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise ValueError("the LLM answer has no text content")
        return content

    def close(self) -> None:
        self._client.close()
