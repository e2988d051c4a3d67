"""SkillPath configuration: one pydantic-settings object, loaded once at each entry point.

Every ``SKILLPATH_*`` environment variable is a field of :class:`Settings`, and this is
the only module that reads them: the service and the CLI call :func:`load_settings` once
and pass the object down, so one process never mixes two configurations.

Precedence: explicit overrides (CLI options) > environment > YAML file > defaults. Every
field can be set as ``SKILLPATH_<FIELD>`` or ``SKILLPATH_<SECTION>__<FIELD>``
(``SKILLPATH_SERVING__PORT=8080``); the short names of :data:`ENV_NAMES` (``SKILLPATH_API_KEYS``,
``MLFLOW_TRACKING_URI``, ...) too. The file (``SKILLPATH_CONFIG`` or ``config=``) may use
``${VAR}`` and ``${VAR:-default}``; unknown keys are refused. Errors name the file (or the
variable) and the field. See docs/configuration.md and ``skillpath.example.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from catalog.errors import ConfigError

__all__ = ["Settings", "split_key_spec", "ScoringSettings", "ServingSettings", "TrackingSettings",
           "FeatureStoreSettings", "AssistantSettings", "SessionsSettings", "MonitoringSettings", "EnvName",
           "ENV_NAMES", "load_settings"]

ENV_PREFIX = "SKILLPATH_"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class EnvName(str):
    """Field metadata: a short environment variable for a field inside a section."""


KEY_ROLES = ("admin", "lead", "curator")
PERSON_ROLES = ("mentor", "mentee")


def split_key_spec(spec: str) -> tuple[str, str, str | None]:
    """``key`` / ``key:role`` / ``key:mentor:<id>`` / ``key:mentee:<id>`` -> (key, role, id or None).

    A ValueError names the role part, never the key."""
    secret, _, rest = spec.partition(":")
    if not secret:
        raise ValueError("an API key is empty")
    if not rest:
        return secret, "admin", None
    role, _, subject = rest.partition(":")
    if role in KEY_ROLES and not subject:
        return secret, role, None
    if role in PERSON_ROLES and subject:
        return secret, role, subject
    if role in PERSON_ROLES:
        raise ValueError(f"the role {role!r} needs the person's id: key:{role}:<id>")
    raise ValueError(f"unknown key role {rest!r}: use one of {', '.join(KEY_ROLES + PERSON_ROLES)} "
                     "(mentor and mentee with :<id>)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringSettings(_Strict):
    freshness_floor: float = Field(0.1, gt=0.0, le=1.0, description="Lowest freshness multiplier (> 0: log-freshness must stay finite).")
    freshness_weight: float = Field(
        1.0, ge=0.0, description="λ in score = model score + λ·log(freshness); 0 disables decay.")
    stale_threshold: float = Field(0.5, gt=0.0, le=1.0, description="Freshness below this is 'stale'.")
    item_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "bfloat16", description="Storage the service scans for top-k. bfloat16 (default): the factors in a "
                                "half-size panel with a proven error bound, bias and freshness exact, "
                                "candidates re-scored in float32: the float32 answers at about half the memory "
                                "traffic (1.5x the matrix's memory). float32: a float32 panel copy (2x). "
                                "float16: a row-major half-size copy. If near-ties that the reduced copy cannot "
                                "separate overflow the candidate buffer, a request falls back to a float32 "
                                "panel, built on first use.")


class TrackingSettings(_Strict):
    uri: Annotated[str | None, EnvName("MLFLOW_TRACKING_URI")] = Field(
        None, description="MLflow tracking URI; default: SQLite inside the data dir.")
    experiment: str = Field("skillpath", description="MLflow experiment of training runs.")
    registered_model: str = Field("skillpath-recommender", description="Registered model the service serves "
                                                                       "(its @champion).")


class FeatureStoreSettings(_Strict):
    online_store: Annotated[str, EnvName("SKILLPATH_ONLINE_STORE")] = Field(
        "sqlite", description="'sqlite' (default, inside the data dir) or 'redis://HOST:PORT[/DB]'.")
    timeout_s: float = Field(0.05, gt=0, description="Budget for one online read before falling back.")
    enabled: Annotated[bool, EnvName("SKILLPATH_ONLINE_FEATURES")] = Field(
        False, description="The service reads engagement features on /recommend and pushes them on /events.")
    push_timeout_s: float = Field(0.5, gt=0, description="Budget for one online write on /events; the event "
                                                         "is durable before it, so past it only the store lags.")

    @field_validator("online_store")
    @classmethod
    def _check_store(cls, v: str) -> str:
        v = v.strip() or "sqlite"
        if v != "sqlite" and not v.startswith(("redis://", "rediss://")):
            raise ValueError("must be 'sqlite' or a redis:// URL")
        return v


class ServingSettings(_Strict):
    host: str = Field("127.0.0.1", description="Interface `skillpath serve` listens on.")
    port: int = Field(3000, ge=1, le=65535, description="TCP port of `skillpath serve`.")
    workers: Annotated[int, EnvName("SKILLPATH_WORKERS")] = Field(
        1, ge=1, le=64, description="Worker processes of the service (they share the event log).")
    api_keys: Annotated[tuple[str, ...], NoDecode, EnvName("SKILLPATH_API_KEYS")] = Field(
        (), description="Bearer keys, comma separated in the environment; each `key`, `key:role` with role "
                        "`admin`, `lead` or `curator`, or `key:mentor:<id>` / `key:mentee:<id>`. A key without a "
                        "role is an admin key. What each role may do: docs/serving.md, Access.")
    protect_reads: Annotated[bool, EnvName("SKILLPATH_PROTECT_READS")] = Field(
        False, description="Require a key for read endpoints too.")
    reload_interval_s: float = Field(60.0, ge=0, description="Poll the registry for a new champion; 0 = off.")
    max_body_bytes: int = Field(1 << 20, gt=0, description="Largest request body (413 above it).")
    switch_interval_ms: float = Field(
        1.0, gt=0, le=100, description="The worker's `sys.setswitchinterval`: how long a thread holding the GIL "
                                       "keeps it while another waits (Python's default is 5 ms). A write or an "
                                       "/events validation holds the GIL for milliseconds of Python; 1 ms bounds "
                                       "what a /recommend beside it waits (docs/serving.md, Latency under writes).")
    access_log: Annotated[bool, EnvName("SKILLPATH_ACCESS_LOG")] = Field(
        False, description="BentoML's access log (costs throughput).")
    tracing: Annotated[bool, EnvName("SKILLPATH_TRACING")] = Field(
        False, description="Let BentoML's OpenTelemetry middleware open spans on /recommend and /events too.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(k.strip() for k in v.split(",") if k.strip())
        return v

    @field_validator("api_keys")
    @classmethod
    def _check_roles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for spec in v:
            split_key_spec(spec)
        return v


class AssistantSettings(_Strict):
    llm_url: str | None = Field(
        None, description="An OpenAI-compatible chat-completions endpoint that may rephrase the grounded answer "
                          "(base URL such as http://127.0.0.1:8080/v1, or the full .../chat/completions URL); "
                          "null (default): no language model, the grounded text is the answer.")
    llm_model: str = Field("default", min_length=1, description="The `model` the rephrasing request names.")
    llm_timeout_s: float = Field(2.0, gt=0, le=30, description="Budget for one rephrasing call; past it the "
                                                               "grounded text is returned.")
    llm_api_key: str | None = Field(None, description="Bearer key the LLM endpoint wants, sent only in the "
                                                      "Authorization header of the rephrasing call.")
    log_messages: bool = Field(False, description="Log each mentee message with its intent (skillpath.assistant "
                                                  "logger); off by default: messages are never logged.")
    conversation_ttl_s: float = Field(86_400.0, gt=0, description="A conversation is forgotten this long after "
                                                                  "its last message.")
    max_conversations: int = Field(100_000, ge=1, description="Conversations kept at most (the oldest go first).")

    @field_validator("llm_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        if not v:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v


class SessionsSettings(_Strict):
    store_text: bool = Field(True, description="Keep session transcripts and notes in the session store; false "
                                               "keeps only the derived signals (analysis, ratings, skills), "
                                               "computed before the texts are dropped. Texts are never logged.")
    target_per_month: float = Field(2.0, gt=0, le=31, description="The programme's target of sessions a month "
                                                                  "per pair (pair health's cadence signal).")


class MonitoringSettings(_Strict):
    enabled: bool = Field(True, description="Keep every mentee's status current as events arrive and serve "
                                            "/mentees/{id}/status and /monitor/alerts (docs/monitoring.md).")
    webhooks: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="URLs that receive each new alert once (POST, JSON, signed); comma separated in the "
                        "environment.")
    webhook_secret: str | None = Field(None, description="HMAC-SHA256 key of the X-SkillPath-Signature header; "
                                                         "required when webhooks are set.")
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="Budget for one delivery attempt.")
    webhook_backoff_s: float = Field(2.0, gt=0, description="First retry delay; doubles per failed attempt.")
    webhook_max_backoff_s: float = Field(3600.0, gt=0, description="Longest delay between two attempts.")
    sweep_interval_s: float = Field(300.0, ge=0, description="Re-evaluate every mentee's alerts this often "
                                                             "(silence grows without events); 0 = only on events.")
    model_path: Path | None = Field(None, description="The at-risk model (.npz) the service scores with; default "
                                                      "models/at_risk/model.npz in the data dir when present.")

    @field_validator("webhooks", mode="before")
    @classmethod
    def _split_urls(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(u.strip() for u in v.split(",") if u.strip())
        return v

    @field_validator("webhooks")
    @classmethod
    def _check_urls(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for u in v:
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"{u!r} is not an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _secret_with_webhooks(self) -> MonitoringSettings:
        if self.webhooks and not self.webhook_secret:
            raise ValueError("webhooks need a webhook_secret (SKILLPATH_MONITORING__WEBHOOK_SECRET) to sign alerts")
        return self


class Settings(BaseSettings):
    """Everything configurable, in sections; immutable once loaded."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid",
                                      frozen=True)

    config: Path | None = Field(None, description="The YAML file these settings were read from (SKILLPATH_CONFIG).")
    data_dir: Path = Field(Path("skillpath-data"), description="Catalog, event log, models, stores "
                                                               "(SKILLPATH_DATA_DIR).")
    model_dir: Path | None = Field(None, description="Serve or recommend with this saved model directory "
                                                     "instead of the registry's @champion (SKILLPATH_MODEL_DIR).")
    database_url: str | None = Field(
        None, description="A postgresql:// URL: the event log lives in that PostgreSQL database, shared by "
                          "several service replicas (SKILLPATH_DATABASE_URL; docs/deploy.md). Default: SQLite in "
                          "the data dir.", pattern=r"^postgres(ql)?://")
    oulad_dir: Path | None = Field(None, description="Folder of the OULAD CSVs for `data import oulad` "
                                                     "(SKILLPATH_OULAD_DIR).")
    progress: bool = Field(False, description="Progress bars even when stderr is not a terminal "
                                              "(SKILLPATH_PROGRESS).")
    default_model: str = Field("bpr", description="Model `skillpath train` fits when none is named.")
    k: int = Field(10, ge=1, le=100, description="Default list length.")
    scoring: ScoringSettings = ScoringSettings()
    tracking: TrackingSettings = TrackingSettings()
    features: FeatureStoreSettings = FeatureStoreSettings()
    serving: ServingSettings = ServingSettings()
    assistant: AssistantSettings = AssistantSettings()
    sessions: SessionsSettings = SessionsSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ShortEnvNames(settings_cls), _YamlFile(settings_cls)


def _short_names(model: type[BaseModel]) -> dict[str, tuple[str, str]]:
    """``{ENV_NAME: (section, field)}`` from the :class:`EnvName` metadata of each section's fields."""
    out = {}
    for section, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            for name, f in sub.model_fields.items():
                out.update({m: (section, name) for m in f.metadata if isinstance(m, EnvName)})
    return out


#: The short environment variables of fields inside a section (``SKILLPATH_API_KEYS`` ->
#: ``serving.api_keys``); every field also answers to ``SKILLPATH_<SECTION>__<FIELD>``.
ENV_NAMES: dict[str, tuple[str, str]] = _short_names(Settings)


class _ShortEnvNames(PydanticBaseSettingsSource):
    """The variables of :data:`ENV_NAMES`, below the ``SKILLPATH_<SECTION>__<FIELD>`` form."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole mapping

    def __call__(self) -> dict[str, Any]:
        out: dict[str, dict[str, str]] = {}
        for var, (section, name) in ENV_NAMES.items():
            value = os.environ.get(var)
            if value:
                out.setdefault(section, {})[name] = value
        return out


class _YamlFile(PydanticBaseSettingsSource):
    """The YAML file named by ``config`` (an override or ``SKILLPATH_CONFIG``), ``${VAR}`` expanded."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get("config")
        if not path:
            return {}
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}".splitlines()[0]) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        raw.pop("config", None)  # a file cannot name another file
        return _expand(raw, os.environ)


def _expand(obj: Any, env: Mapping[str, str]) -> Any:
    if isinstance(obj, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(2) or ""), obj)
    if isinstance(obj, dict):
        return {k: _expand(v, env) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_expand(v, env) for v in obj]
    return obj


def _nest(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split("__")
        d = out
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = value
    return out


def _source_of(loc: tuple[Any, ...], config: Any) -> str:
    """Where a bad value came from: the variable that set it, else the file, else "settings"."""
    names = [f"{ENV_PREFIX}{'__'.join(map(str, loc))}".upper()]
    if len(loc) == 2:
        names += [v for v, target in ENV_NAMES.items() if target == tuple(map(str, loc))]
    for var in names:
        if os.environ.get(var):
            return f"${var}"
    return str(config) if config else "settings"


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """The settings from the environment, the YAML file ``path`` (else ``$SKILLPATH_CONFIG``) and ``overrides``.

    ``overrides`` use ``__`` for nesting (``serving__port=8080``); None values are ignored so
    CLI options that were not given fall through. Any problem is a :class:`ConfigError`
    naming where the bad value came from and the field.
    """
    if path is not None:
        overrides["config"] = path
    try:
        return Settings(**_nest(overrides))
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc)
        config = overrides.get("config") or os.environ.get(f"{ENV_PREFIX}CONFIG")
        raise ConfigError(f"{_source_of(loc, config)}: {field}: {first['msg']}") from None
    except SettingsError as e:  # a SKILLPATH_<SECTION> variable that is not a JSON object
        raise ConfigError(f"environment: {e}") from None
