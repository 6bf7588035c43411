"""The YAML config as pydantic models, with one-line errors that name file, key path and problem.

    configs/x.yaml: sources[1].url: not a ws:// or wss:// URL: 'ws:/x'

Secrets never live in the file: keys ending in ``_env`` name environment variables.
Relative paths are resolved against the working directory, else the config file's folder.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.errors import ConfigError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_ws_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"not a ws:// or wss:// URL: {value!r}")
    return value


def _check_listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"not a host:port address: {value!r}")
    return value


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not value.replace("_", "").isalnum():
        raise ValueError(f"not an environment variable name: {value!r}")
    return value


class BackoffConfig(_Model):
    """Reconnect delays: exponential from ``initial`` to ``maximum`` with full jitter."""

    initial: float = Field(1.0, gt=0)
    maximum: float = Field(30.0, gt=0)
    factor: float = Field(2.0, ge=1)
    # A connection must stay up this long before the backoff resets, so a server that
    # accepts then drops at once is not hammered.
    min_uptime: float = Field(10.0, ge=0)


class ReplaySourceConfig(_Model):
    """Events from a JSONL file; events keep their own room."""

    type: Literal["replay"]
    path: Path
    speed: float = Field(1.0, ge=0)


class JsonWsSourceConfig(_Model):
    """A relay websocket that sends one event JSON per text frame."""

    type: Literal["json_ws"]
    room: str = Field(min_length=1, max_length=64)
    url: str
    token_env: str | None = None
    idle_timeout: float = Field(60.0, gt=0)
    max_frame_bytes: int = Field(1 << 20, gt=0)
    reconnect: BackoffConfig = BackoffConfig()

    _url = field_validator("url")(_check_ws_url)
    _env = field_validator("token_env")(_check_env_name)


class BilibiliSourceConfig(_Model):
    """A Bilibili live room read over the platform's danmaku websocket protocol."""

    type: Literal["bilibili"]
    # The room id from the room's address (live.bilibili.com/<room>), as DESIGN.md has it.
    room: str = Field(min_length=1, max_length=64)
    # The numeric room id used in the auth packet; defaults to ``room`` when that is numeric
    # (set it when ``room`` is a label such as "beauty-main").
    roomid: int | None = Field(default=None, gt=0)
    url: str = "wss://broadcastlv.chat.bilibili.com/sub"
    heartbeat: float = Field(30.0, gt=0)
    # The server drops a silent client after ~35 s; we do the same to a silent server.
    idle_timeout: float = Field(70.0, gt=0)
    max_frame_bytes: int = Field(1 << 20, gt=0)
    # Optional login so viewers are not anonymised to uid 0 (values read from env).
    uid_env: str | None = None
    sessdata_env: str | None = None
    buvid_env: str | None = None
    key_env: str | None = None
    reconnect: BackoffConfig = BackoffConfig()

    _url = field_validator("url")(_check_ws_url)
    _env = field_validator("uid_env", "sessdata_env", "buvid_env", "key_env")(_check_env_name)

    @model_validator(mode="after")
    def _numeric_room(self) -> BilibiliSourceConfig:
        if self.roomid is None:
            if not self.room.isdigit() or int(self.room) <= 0:
                raise ValueError(f"room {self.room!r} is not a numeric room id; set roomid")
            object.__setattr__(self, "roomid", int(self.room))
        return self


class PushSourceConfig(_Model):
    """A websocket endpoint where relays push DESIGN events (one JSON per text frame)."""

    type: Literal["push"]
    listen: str = "127.0.0.1:9300"
    token_env: str
    rooms: list[str] = Field(default_factory=list)
    allow_all_rooms: bool = False
    max_frame_bytes: int = Field(64 * 1024, gt=0)
    per_second: float = Field(200.0, gt=0)
    burst: int = Field(400, ge=1)
    max_connections: int = Field(64, ge=1)

    _listen = field_validator("listen")(_check_listen)
    _env = field_validator("token_env")(_check_env_name)


class ConsoleSinkConfig(_Model):
    """Readable, coloured alert lines on stdout."""

    type: Literal["console"]
    color: bool | None = None


class JsonlSinkConfig(_Model):
    """One alert JSON per line, every version."""

    type: Literal["jsonl"]
    path: Path


# -- alerts: routing, rosters, escalation, durable outbox, MQTT and chat robots ----------

_SEVERITY_KEYS = ("low", "medium", "high", "critical")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
AlertSeverity = Literal["low", "medium", "high", "critical"]


def _all_days() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


_MATCH_KEYS = frozenset({"room", "kind", "category", "severity", "team", "sku", "assignee"})


def _check_hhmm(value: str) -> str:
    hour, sep, minute = value.partition(":")
    if not sep or not (hour.isdigit() and minute.isdigit()) or int(hour) > 24 or int(minute) > 59:
        raise ValueError(f"not an HH:MM time: {value!r}")
    return value


def _check_matchers(value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - _MATCH_KEYS)
    if unknown:
        raise ValueError(f"unknown match key {unknown[0]!r}; expected one of {sorted(_MATCH_KEYS)}")
    return value


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - only when validating

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone: {value!r}") from None
    return value


class StaffConfig(_Model):
    """One after-sales person: display name and the mobile used for @mentions in chat robots."""

    name: str = ""
    mobile: str | None = Field(default=None, pattern=r"^\+?[0-9]{5,20}$")
    # 飞书 robots mention by open_id (``ou_…``), not by mobile.
    feishu_user_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class ShiftConfig(_Model):
    """Who is on duty on some weekdays between two local times (end ≤ start crosses midnight)."""

    days: list[Weekday] = Field(default_factory=_all_days)
    start: str = "00:00"
    end: str = "24:00"
    staff: list[str] = Field(min_length=1)

    _start = field_validator("start", "end")(_check_hhmm)


class OverrideConfig(_Model):
    """A one-off replacement of the roster between two local date-times."""

    start: datetime
    end: datetime
    staff: list[str] = Field(min_length=1)


class TeamConfig(_Model):
    """A team's roster: shifts, overrides on top, a fallback when nobody is on shift, a lead."""

    lead: str | None = None
    shifts: list[ShiftConfig] = Field(default_factory=list)
    overrides: list[OverrideConfig] = Field(default_factory=list)
    fallback: list[str] = Field(default_factory=list)


class RuleConfig(_Model):
    """Alerts whose labels match (a value or a list of values; ``*`` globs) go to ``team``."""

    match: dict[str, str | list[str]] = Field(default_factory=dict)
    team: str = Field(min_length=1)

    _match = field_validator("match")(_check_matchers)


class SilenceConfig(_Model):
    """A silence from the file: matching alerts are kept and shown but not notified."""

    matchers: dict[str, str] = Field(min_length=1)
    until: datetime
    comment: str = ""
    by: str = "config"

    _matchers = field_validator("matchers")(_check_matchers)


class MuteWindowConfig(_Model):
    """A recurring quiet window in local time (e.g. no chat pings 02:00–08:00)."""

    matchers: dict[str, str] = Field(default_factory=dict)
    days: list[Weekday] = Field(default_factory=_all_days)
    start: str
    end: str

    _times = field_validator("start", "end")(_check_hhmm)
    _matchers = field_validator("matchers")(_check_matchers)


class RoutingConfig(_Model):
    """Rules → team, rosters per team, silences and mute windows; times in ``timezone``."""

    timezone: str = "Asia/Shanghai"
    default_team: str = Field(default="aftersales", min_length=1)
    rules: list[RuleConfig] = Field(default_factory=list)
    teams: dict[str, TeamConfig] = Field(default_factory=dict)
    staff: dict[str, StaffConfig] = Field(default_factory=dict)
    silences: list[SilenceConfig] = Field(default_factory=list)
    mute_windows: list[MuteWindowConfig] = Field(default_factory=list)

    _tz = field_validator("timezone")(_check_timezone)

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        if self.teams:
            for i, rule in enumerate(self.rules):
                if rule.team not in self.teams:
                    raise ValueError(f"rules[{i}].team: unknown team {rule.team!r}")
        if self.staff:
            for name, team in self.teams.items():
                people = [team.lead] if team.lead else []
                people += [p for s in team.shifts for p in s.staff]
                people += [p for o in team.overrides for p in o.staff] + team.fallback
                for person in people:
                    if person not in self.staff:
                        raise ValueError(f"teams.{name}: unknown staff {person!r}")
        return self


def _default_ack() -> dict[AlertSeverity, float]:
    return {"critical": 60.0, "high": 180.0, "medium": 300.0, "low": 900.0}


def _default_resolve() -> dict[AlertSeverity, float]:
    return {"critical": 900.0, "high": 1800.0, "medium": 3600.0, "low": 7200.0}


class EscalationConfig(_Model):
    """Acknowledgement SLA per severity (seconds), then next person, then the team lead."""

    ack_seconds: dict[AlertSeverity, float] = Field(default_factory=_default_ack)
    # An acknowledged alert not resolved within this re-opens (and is escalated again).
    resolve_seconds: dict[AlertSeverity, float] = Field(default_factory=_default_resolve)
    # Past the last rung (the lead), page the lead again every SLA instead of going quiet.
    repeat_last: bool = True
    # Resolved alerts stay listed for the desk this long.
    keep_resolved_seconds: float = Field(default=3600.0, ge=0)

    @field_validator("ack_seconds", "resolve_seconds")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for severity, seconds in value.items():
            if seconds <= 0:
                raise ValueError(f"{severity}: must be > 0 seconds, got {seconds}")
        return value


class OutboxConfig(_Model):
    """The durable delivery queue: stored before delivery, retried with backoff."""

    path: Path = Path("data/alerts.db")
    retry_initial: float = Field(default=0.2, gt=0)
    retry_max: float = Field(default=30.0, gt=0)


class ControlConfig(_Model):
    """Acknowledge links in chat messages: signed, expiring, served by the agent's API."""

    ack_base_url: str | None = None
    ack_secret_env: str = "DANMAKU_ACK_SECRET"  # noqa: S105 - a variable name, not a secret
    ack_link_ttl: float = Field(default=3600.0, gt=0)

    _env = field_validator("ack_secret_env")(_check_env_name)


def _check_mqtt_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"not an mqtt:// or mqtts:// URL: {value!r}")
    return value


class MqttSinkConfig(_Model):
    """Alerts over MQTT 5 (QoS 1), retained room status, presence, command topics."""

    type: Literal["mqtt"]
    name: str | None = None
    url: str = "mqtt://127.0.0.1:1883"
    prefix: str = Field(default="danmaku", min_length=1, pattern=r"^[^#+]+$")
    username: str | None = None
    password_env: str | None = None
    qos: Literal[0, 1, 2] = 1
    message_expiry: int = Field(default=3600, ge=0)
    will_delay: int = Field(default=10, ge=0)
    timeout: float = Field(default=5.0, gt=0)
    commands: bool = True
    command_token_env: str | None = None

    _url = field_validator("url")(_check_mqtt_url)
    _env = field_validator("password_env", "command_token_env")(_check_env_name)


class _RobotConfig(_Model):
    name: str | None = None
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    teams: list[str] = Field(default_factory=list)
    min_severity: AlertSeverity = "low"
    per_minute: int = Field(default=20, ge=1)
    per_second: int | None = Field(default=None, ge=1)
    max_batch: int = Field(default=10, ge=1, le=50)
    timeout: float = Field(default=5.0, gt=0)

    _env = field_validator("url_env", "secret_env")(_check_env_name)

    @model_validator(mode="after")
    def _one_url(self) -> _RobotConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        return self


class WecomSinkConfig(_RobotConfig):
    """企业微信 group robot (20 messages/min)."""

    type: Literal["wecom"]


class DingtalkSinkConfig(_RobotConfig):
    """钉钉 group robot (20 messages/min, signed with ``secret_env``)."""

    type: Literal["dingtalk"]


class FeishuSinkConfig(_RobotConfig):
    """飞书 group robot (100 messages/min and 5/s, signed with ``secret_env``)."""

    type: Literal["feishu"]
    per_minute: int = Field(default=100, ge=1)
    per_second: int | None = Field(default=5, ge=1)


SourceConfig = Annotated[
    ReplaySourceConfig | JsonWsSourceConfig | BilibiliSourceConfig | PushSourceConfig,
    Field(discriminator="type"),
]
SinkConfig = Annotated[
    ConsoleSinkConfig
    | JsonlSinkConfig
    | MqttSinkConfig
    | WecomSinkConfig
    | DingtalkSinkConfig
    | FeishuSinkConfig,
    Field(discriminator="type"),
]


class StoreConfig(_Model):
    """Where records live: SQLite by default, PostgreSQL for teams."""

    url: str = "sqlite:///data/danmaku.db"
    retention_days: int = Field(180, ge=1)
    # A running agent deletes records past retention this often (0 = only `danmaku-agent purge`).
    purge_interval_hours: float = Field(24.0, ge=0)
    # Records held in memory while the database is unreachable; past it new ones are dropped
    # (and counted in danmaku_records_dropped_total).
    buffer_size: int = Field(100_000, ge=100)
    batch_size: int = Field(500, ge=1, le=10_000)
    flush_interval: float = Field(0.5, gt=0)
    retry_max: float = Field(30.0, gt=0)
    # At shutdown, how long to keep trying to write what is buffered.
    close_timeout: float = Field(10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme = value.partition(":")[0]
        if scheme not in ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres",
                          "postgresql+asyncpg") or "://" not in value:  # fmt: skip
            raise ValueError(
                f"not a sqlite:///PATH or postgresql://USER@HOST/DB URL: {value.rsplit('@', maxsplit=1)[-1]!r}"
            )
        return value


class MetricsConfig(_Model):
    """The Prometheus endpoint; port 0 picks a free port (logged)."""

    listen: str = "127.0.0.1:9108"

    _listen = field_validator("listen")(_check_listen)


class WebConfig(_Model):
    """The control desk and REST API."""

    listen: str = "127.0.0.1:8080"
    token_env: str | None = "DANMAKU_DESK_TOKEN"  # noqa: S105 - a variable name, not a secret

    _listen = field_validator("listen")(_check_listen)
    _env = field_validator("token_env")(_check_env_name)


class ClassifierConfig(_Model):
    """The intent model and its per-label score thresholds."""

    model: Path | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    batch_size: int = Field(256, ge=1, le=8192)
    # Pre-sale questions are recorded (5.2.1 c) but only alert when asked for.
    alert_product_info: bool = False


class PipelineConfig(_Model):
    """Queue sizes, the shutdown deadline, and whether a run of finite sources ends."""

    queue_size: int = Field(10_000, ge=16)
    shutdown_timeout: float = Field(10.0, gt=0)
    # False keeps the agent (its desk, timers and command readers) up after the replays end,
    # until SIGINT/SIGTERM: for looking at a replayed broadcast on the control desk.
    exit_when_sources_end: bool = True


class AggregateConfig(_Model):
    """How findings fold into alerts."""

    quiet_seconds: float = Field(300.0, gt=0)
    update_interval: float = Field(2.0, ge=0)
    max_examples: int = Field(5, ge=1, le=5)
    # Spikes: a category's rate over ``spike_window`` seconds at least ``spike_factor`` times
    # its rate over the preceding ``spike_baseline`` seconds, and ``spike_min_count`` findings.
    spike_window: float = Field(default=60.0, gt=0)
    spike_baseline: float = Field(default=600.0, gt=0)
    spike_factor: float = Field(default=4.0, gt=1)
    spike_min_count: int = Field(default=8, ge=2)
    spike_quiet_seconds: float = Field(default=120.0, gt=0)


class PrivacyConfig(_Model):
    """Keyed hashing of user ids; the key comes from the environment or a local key file."""

    hash_key_env: str = "DANMAKU_HASH_KEY"
    key_file: Path = Path("data/hash.key")

    _env = field_validator("hash_key_env")(_check_env_name)


class ClusterConfig(_Model):
    """Room sharding across instances over MQTT presence; off by default (one agent, all rooms)."""

    enabled: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    prefix: str = Field(default="danmaku", min_length=1, pattern=r"^[^#+]+$")
    username: str | None = None
    password_env: str | None = None
    # Presence is re-published this often; a member silent for ``member_timeout_seconds``
    # (a dead machine, a stale retained "online" without a Will) is dropped.
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    member_timeout_seconds: float = Field(default=6.0, gt=0)
    # The broker publishes our "offline" Will this long after losing us (a quick reconnect
    # stays silent); kept short so rooms move well within 10 s.
    will_delay: int = Field(default=2, ge=0)
    # Rooms given to a joining member are read here this much longer (overlap, not a gap).
    handover_seconds: float = Field(default=1.0, ge=0)
    # Wait this long for the retained presence of the others before claiming rooms.
    settle_seconds: float = Field(default=1.0, ge=0)
    timeout: float = Field(default=5.0, gt=0)
    # With a PostgreSQL store, open alerts (assignee, escalation deadline, ladder) follow
    # their room to the instance that takes it over; false keeps them where they opened.
    shared_alerts: bool = True
    # A gained room waits this long for its open alerts to load before it is read anyway.
    adopt_timeout: float = Field(default=2.0, gt=0)

    _url = field_validator("url")(_check_mqtt_url)
    _env = field_validator("password_env")(_check_env_name)

    @model_validator(mode="after")
    def _timeout_after_heartbeat(self) -> ClusterConfig:
        if self.member_timeout_seconds <= self.heartbeat_seconds:
            raise ValueError("member_timeout_seconds must be longer than heartbeat_seconds")
        return self


def _default_sinks() -> list[SinkConfig]:
    return [ConsoleSinkConfig(type="console")]


class AgentConfig(_Model):
    """The whole config file."""

    instance: str = Field(default_factory=lambda: os.uname().nodename, min_length=1)
    sources: list[SourceConfig] = Field(min_length=1)
    catalog: Path | None = None
    lineup: Path | None = None
    sinks: list[SinkConfig] = Field(default_factory=_default_sinks)
    store: StoreConfig | None = None
    metrics: MetricsConfig | None = None
    web: WebConfig | None = None
    classifier: ClassifierConfig = ClassifierConfig()
    pipeline: PipelineConfig = PipelineConfig()
    aggregate: AggregateConfig = AggregateConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    room_cap: int = Field(200, ge=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Filled in by the loader, never from the file.
    base_dir: Path = Path()


# Type tags of the discriminated unions, skipped when a key path is printed.
def _union_tags() -> set[str]:
    tags: set[str] = set()
    for union in (SourceConfig, SinkConfig):
        for model in union.__origin__.__args__:  # type: ignore[attr-defined]
            tags.update(model.model_fields["type"].annotation.__args__)
    return tags


def _format_loc(loc: tuple[int | str, ...], tags: set[str]) -> str:
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in tags:
            pass  # the discriminator branch pydantic inserts after a list index
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def _format_problem(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "union_tag_invalid":
        return f"unknown type {error['input'].get('type')!r}; expected one of {error['ctx']['expected_tags']}"
    if kind == "union_tag_not_found":
        return "missing 'type'"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message[:1].lower()}{message[1:]}"


def _resolve(path: Path, base: Path) -> Path:
    if path.is_absolute() or path.exists():
        return path
    candidate = base / path
    return candidate if candidate.exists() else path


def parse_config(data: object, path: str = "<config>") -> AgentConfig:
    """Validate already-loaded YAML data; raises ``ConfigError`` (one line) when invalid."""
    if not isinstance(data, dict):
        raise ConfigError(path, "", "the top level must be a mapping of keys")
    try:
        config = AgentConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            path, _format_loc(first["loc"], _union_tags()), _format_problem(first)
        ) from None
    base = Path(path).parent if path != "<config>" else Path()
    updates: dict[str, Any] = {"base_dir": base}
    if config.catalog is not None:
        updates["catalog"] = _resolve(config.catalog, base)
    if config.lineup is not None:
        updates["lineup"] = _resolve(config.lineup, base)
    sources = []
    for source in config.sources:
        if isinstance(source, ReplaySourceConfig):
            source = source.model_copy(update={"path": _resolve(source.path, base)})
        sources.append(source)
    updates["sources"] = sources
    return config.model_copy(update=updates)


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate a YAML config file; raises ``ConfigError`` with one line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, "", f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(name, where, f"invalid YAML: {problem}") from None
    return parse_config(data, name)


def secret_from_env(var: str | None, *, where: str, required: bool = True) -> str | None:
    """Read a secret named by a ``*_env`` key; a missing required one is a ConfigError."""
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None and required:
        raise ConfigError("environment", where, f"environment variable {var} is not set")
    return value
