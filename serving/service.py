"""The BentoML service: it serves :data:`serving.api.api` (every route) and owns the lifecycle.

Run it with ``skillpath serve`` (or ``python -m bentoml serve serving.service:SkillPathService
--host 127.0.0.1 --port 3000``). BentoML brings the server, the worker processes, the
health routes (``/livez``, ``/readyz`` through :meth:`SkillPathService.__is_ready__`,
``/healthz``) and ``/metrics``; the routes themselves are one FastAPI app mounted with
``bentoml.asgi_app`` (docs/serving.md says why).

Configuration is :class:`catalog.settings.Settings`. BentoML reads the service-level part
(workers, access log, tracing) when it imports this module; each worker instance loads
the settings once at its start and hands them to the app it serves.
"""

from __future__ import annotations

import logging
import sys
import threading

import bentoml

from catalog.settings import Settings, load_settings
from serving.api import api, attach, detach
from serving.health import ReadinessMiddleware, metrics_text
from serving.lifeline import die_with_parent
from serving.contract import rejected_log
from serving.routes.analytics import prefetch as prefetch_console

__all__ = ["SkillPathService"]

log = logging.getLogger("skillpath.serving")
SERVICE_NAME = "skillpath"
#: URL patterns BentoML's OpenTelemetry middleware skips unless ``serving.tracing``: with
#: tracing off (BentoML's sample rate is 0) it still opens spans on every request.
HOT_PATHS = [r"/(recommend|events)(\?|$)"]

_SERVICE = load_settings().serving


def _online_features(settings: Settings) -> object | None:
    """The online-feature adapter when ``features.enabled``, else None."""
    if not settings.features.enabled:
        return None
    from features.store import open_store
    from serving.features_adapter import OnlineFeatures

    online = OnlineFeatures(lambda: open_store(settings.data_dir, online=settings.features.online_store),
                            timeout_s=settings.features.timeout_s, push_timeout_s=settings.features.push_timeout_s)
    if not online.warm_up():
        log.warning("online feature store not reachable at start; requests will report it")
    return online


def freeze_start_state() -> int:
    """Move every object alive now (the catalog, the model, the monitor, the assistant's index, the
    console's tables) out of the cyclic garbage collector's reach; returns how many were moved.

    A full collection scans every tracked object: with the start state in place that held the GIL
    for 0.2-0.5 s, a stall every few tens of seconds that was the whole 99th percentile at 300
    req/s. The start state lives as long as the worker; what replaces parts of it later (a catalog
    write, a model reload) is still freed by reference counting, and what is allocated after this
    call is collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


YOUNG_THRESHOLD = 50_000  # allocations between young collections once warm (Python's default: 700)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        import gc

        gc.freeze()


def freeze_after_full_collections() -> bool:
    """From now on, freeze what each full collection leaves alive; False when already on.

    Invariant: the oldest generation only holds objects that arrived since the last full
    collection. Reason: once the start state is frozen, the caches that fill while serving (mentee
    contexts, prepared halves, answers: some 250,000 objects for 1,000 mentees) were scanned by every
    full collection, and Python 3.11 runs one whenever a quarter as many objects again have aged into
    the oldest generation: at 300 req/s that was a 0.1-0.9 s hold of the GIL every 2-5 s, the
    /recommend tail. A full collection has just shown its survivors reachable, and freezing is a list
    splice (O(1)), so each later full collection scans only what is new since the one before. What
    dies by reference count is still freed at once, frozen or not; only a frozen object that later
    becomes part of a garbage cycle stays (the collections after warm-up found 0-56 such objects each,
    i.e. the caches do not form cycles; benchmarks/resilience.md).

    The youngest generation is collected every :data:`YOUNG_THRESHOLD` allocations instead of 700:
    a request allocates thousands of objects that live for the request only, and a young collection
    in its middle promoted them to the older generations, whose collections then scanned them again;
    fewer young collections promote far fewer of them, so the full collections (a GIL hold each) come
    rarer and smaller. Side by side at 300 req/s with Redis on: p99 21.3 -> 7.2 ms (resilience.md).
    """
    import gc

    if _freeze_survivors in gc.callbacks:
        return False
    gc.callbacks.append(_freeze_survivors)
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    return True


def _in_worker() -> bool:
    """Whether this process is a worker BentoML's supervisor started (not a test or the CLI in-process)."""
    from bentoml._internal.context import server_context

    return server_context.worker_index is not None


@bentoml.service(
    name=SERVICE_NAME,
    workers=_SERVICE.workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": _SERVICE.access_log}},
    tracing={"excluded_urls": None if _SERVICE.tracing else HOT_PATHS},
)
@bentoml.asgi_app(api, path="/")
class SkillPathService:
    """SkillPath recommendations over HTTP (see docs/serving.md)."""

    def __init__(self) -> None:
        if _in_worker():  # a kill -9 of `skillpath serve` must not leave this worker holding the port
            die_with_parent()
        from serving.app import SkillPathApp  # here: `bentoml serve`'s supervisor imports this module too

        settings = load_settings()
        # Shorter GIL turns than Python's 5 ms: a write's or an /events validation's milliseconds of Python
        # then delay a /recommend beside them by about this much, not by the whole stretch (docs/serving.md).
        sys.setswitchinterval(settings.serving.switch_interval_ms / 1e3)
        prefetch_console(settings)  # a first start: the console's copy of the log runs beside the model's load
        rejected_log.setLevel(logging.INFO)  # one line per rejected request, under BentoML's WARNING default
        self.app = SkillPathApp.from_settings(settings, model_dir=settings.model_dir,
                                              online=_online_features(settings))
        self.app.warm_up()  # the first /recommend answers as fast as the next ones
        attach(self.app)
        # Whole-log work (popularity, co-completion, the monitor's fold and first sweep, the virtual
        # mentor's index) is built beside readiness: a request that needs a part first waits for this
        # same build (each part holds a lock), never starts another. The app owns these threads:
        # close() stops the loops and joins every one (serving/background.py says why).
        bg = self.app.background
        bg.start("skillpath-warm", lambda stop: self._after_ready(stop, settings))
        interval = settings.serving.reload_interval_s
        if interval > 0:
            bg.start("skillpath-reload", lambda stop: self._timer(stop, interval), daemon=True)

    def _after_ready(self, stop: threading.Event, settings: Settings) -> None:
        self.app.warm_background(("model extras", "monitor"))
        ms = settings.monitoring
        try:
            monitor = self.app.monitor if ms.webhooks and not stop.is_set() else None
        except Exception:  # logged by warm_background already; no sender without a monitor
            monitor = None
        if monitor is not None:  # each worker sends; the outbox's leases keep it once
            from serving.webhooks import WebhookSender

            sender = WebhookSender(monitor.store, secret=ms.webhook_secret or "",
                                   timeout_s=ms.webhook_timeout_s, backoff_s=ms.webhook_backoff_s,
                                   max_backoff_s=ms.webhook_max_backoff_s)
            self.app.background.start("skillpath-webhooks", sender.run, daemon=True)
        if not stop.is_set():
            self.app.warm_background(("assistant",))
        from serving.routes.analytics import start as console

        first = console(self.app).first_pass  # the console's first table build, started by attach()
        while not (stop.is_set() or first.wait(0.5)):
            pass
        if not stop.is_set():
            freeze_start_state()
            if _in_worker():  # process-wide: not in a test or the CLI running the service in-process
                freeze_after_full_collections()
            self.app.warmed.set()
            log.info("background build after readiness finished (/readyz: warm)")

    def _timer(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.app.tick()
            except Exception:  # the timer must survive anything; the model in place keeps serving
                log.exception("background refresh failed")

    def __is_ready__(self) -> bool:
        return self.app.ready

    def __metrics__(self, content: str) -> str:
        """BentoML's metrics with SkillPath's own gauges appended (model fallback, online push queue)."""
        return content + metrics_text(self.app.model_status(), self.app.gauges())

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        detach()
        self.app.close()


def _status() -> dict[str, object] | None:
    core = getattr(api.state, "core", None)
    return None if core is None else {**core.model_status(), "online_features": core.online_status(),
                                      "warm": core.warmed.is_set()}


SkillPathService.add_asgi_middleware(ReadinessMiddleware, status=_status)
