"""``/readyz`` with a body, and SkillPath's own lines on ``/metrics``.

BentoML answers ``/readyz`` with an empty body; operators need to know *which* model
serves and why when it is not the champion (the champion's artifact failed its checksum
and the last good version stands in). :class:`ReadinessMiddleware` answers ``/readyz``
itself from a status callable: 200 with the status JSON once a model serves, else 503
with the same keys. :func:`metrics_text` renders the same status (and any extra gauges)
in the Prometheus text format that the service appends to BentoML's ``/metrics``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ReadinessStatus", "ReadinessMiddleware", "metrics_text"]


class ReadinessStatus(BaseModel):
    """The body of ``/readyz`` (200 when ``ready``, else 503)."""

    ready: bool = Field(description="Whether a verified model serves.", examples=[True])
    model_version: str | None = Field(description="The version serving now.", examples=["3"])
    champion_version: str | None = Field(description="The registry's champion; differs from `model_version` "
                                                     "while the last good version stands in for it.",
                                         examples=["4"])
    fallback_reason: str | None = Field(description="Why the champion is not serving (null: it is).",
                                        examples=["skillpath-recommender version 4 does not verify: arrays.npz: "
                                                  "sha256 ... does not match the manifest"])
    last_error: str | None = Field(description="The last failed load, if any.", examples=[None])
    online_features: str | None = Field(None, description="The online feature store: off, ok, rebuilding, "
                                                          "timeout or unavailable.", examples=["off"])
    warm: bool = Field(False, description="Whether the build that follows readiness (cold-start popularity, "
                                          "the monitor's fold, the assistant's index, the console's tables) has "
                                          "finished. The service answers before it does, a little slower while it "
                                          "runs: wait for `true` before measuring latency.", examples=[True])

Status = Callable[[], Mapping[str, Any] | None]
_NOT_STARTED = {"ready": False, "model_version": None, "champion_version": None, "fallback_reason": None,
                "last_error": "the service is starting", "warm": False}


class ReadinessMiddleware:
    """An ASGI middleware that answers ``GET /readyz`` with the status JSON (``status()``; None: starting)."""

    def __init__(self, app: Any, *, status: Status, path: str = "/readyz") -> None:
        self.app, self.status, self.path = app, status, path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") != self.path or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        try:
            status = dict(self.status() or _NOT_STARTED)
        except Exception:  # a probe never fails on a bug of its own: it says not ready
            status = {**_NOT_STARTED, "last_error": "status unavailable"}
        body = json.dumps(status).encode()
        await send({"type": "http.response.start", "status": 200 if status.get("ready") else 503,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _label(v: object) -> str:
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def metrics_text(status: Mapping[str, Any] | None, gauges: Mapping[str, tuple[str, float]] | None = None) -> str:
    """Prometheus text for the model status and ``gauges`` (``name -> (help, value)``)."""
    s = status or _NOT_STARTED
    serving, champion = s.get("model_version"), s.get("champion_version")
    fallback = 1.0 if s.get("ready") and serving != champion else 0.0
    lines = [
        "# HELP skillpath_model_ready 1 once a verified model serves.",
        "# TYPE skillpath_model_ready gauge",
        f"skillpath_model_ready {1.0 if s.get('ready') else 0.0}",
        "# HELP skillpath_model_fallback 1 while a version other than the champion serves because the "
        "champion does not verify.",
        "# TYPE skillpath_model_fallback gauge",
        f'skillpath_model_fallback{{serving="{_label(serving or "")}",champion="{_label(champion or "")}"}} '
        f"{fallback}",
    ]
    for name, (help_, value) in (gauges or {}).items():
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} gauge", f"{name} {float(value)}"]
    return "\n".join(lines) + "\n"
