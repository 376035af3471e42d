"""feeds.yaml + environment -> frozen, validated Settings.

Every problem is reported as `file:line: key.path: message`, all of them at once, so a
user fixes a broken file in one pass. Unknown keys are errors: a typo such as
`enabeld: false` must not be silently ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from monitor.errors import ConfigError

ENV_CONFIG = "MONITOR_CONFIG"
ENV_DB_URL = "MONITOR_DB_URL"
DEFAULT_DB_NAME = "monitor.db"

Language = str  # ISO 639-1 code such as "en", "ru", "zh"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(_Strict):
    """What the monitor is about, and how to tell an article on it from one that is not."""

    name: str
    description: str = ""
    languages: tuple[Language, ...] = ("en",)
    include: dict[Language, tuple[str, ...]] = Field(default_factory=dict)
    exclude: dict[Language, tuple[str, ...]] = Field(default_factory=dict)
    # Optional boolean queries per language: AND, OR, NOT, "quoted phrases", parentheses.
    query: dict[Language, str] = Field(default_factory=dict)
    # One concept -> its terms in each language; links coverage across languages.
    glossary: dict[str, dict[Language, tuple[str, ...]]] = Field(default_factory=dict)
    # Extra words jieba must keep whole (include terms are added automatically).
    zh_dictionary: tuple[str, ...] = ()
    # Articles scoring at least this are relevant.
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # Labelled examples (JSONL) that train the relevance classifier when no model is stored:
    # a path relative to feeds.yaml, or `package:NAME` for a file shipped in monitor/data.
    labels: str | None = None


def _check_feed_url(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError("not an http(s) or file URL")
    if scheme in ("http", "https") and not urlsplit(url).netloc:
        raise ValueError("URL has no host")
    return url


class Feed(_Strict):
    """One feed to poll. `url` may hold `{query}` to make it a news-search feed."""

    name: str = Field(min_length=1)
    url: str
    outlet: str = ""
    language: Language | None = None
    country: str | None = None
    group: str = "other"
    tags: tuple[str, ...] = ()
    enabled: bool = True
    fulltext: bool = False
    min_interval_minutes: int = Field(default=30, ge=1)
    max_interval_minutes: int = Field(default=24 * 60, ge=1)

    _url = field_validator("url")(classmethod(lambda cls, v: _check_feed_url(v)))

    @model_validator(mode="after")
    def _bounds(self) -> "Feed":
        if self.min_interval_minutes > self.max_interval_minutes:
            raise ValueError("min_interval_minutes is larger than max_interval_minutes")
        return self

    @property
    def outlet_name(self) -> str:
        return self.outlet or self.name

    @property
    def is_search(self) -> bool:
        return "{query}" in self.url


class Fetch(_Strict):
    """Politeness and safety limits for every HTTP request."""

    user_agent: str = "monitor/0.1 (+https://github.com/monitor-project/monitor)"
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    total_timeout: float = Field(default=60.0, gt=0)
    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=32, ge=1)
    per_host: int = Field(default=2, ge=1)
    host_delay: float = Field(default=0.5, ge=0)   # seconds between requests to one host
    retries: int = Field(default=2, ge=0)
    retry_after_cap: float = Field(default=6 * 3600, gt=0)
    max_backoff_days: float = Field(default=7.0, gt=0)


class FrameDef(_Strict):
    """One frame of a codebook: indicator terms per language."""

    name: str
    label: str = ""
    description: str = ""
    terms: dict[Language, tuple[str, ...]] = Field(default_factory=dict)


class Frames(_Strict):
    """The framing codebook: a built-in one by name, or frames given here."""

    codebook: str = "social-credit"
    custom: tuple[FrameDef, ...] = ()
    period: Literal["week", "month", "quarter"] = "month"
    min_score: float = Field(default=0.2, ge=0.0, le=1.0)


class Analysis(_Strict):
    """Knobs of story and theme grouping."""

    story_window_days: int = Field(default=5, ge=1)
    # Mean cosine with a story's members (within the window) needed to join it; 0.05
    # holds the demo's planted events and WikiRef's clusters best (BENCHMARKS.md).
    story_threshold: float = Field(default=0.05, gt=0.0, lt=1.0)
    themes: int | None = Field(default=None, ge=2)


class Digest(_Strict):
    """The weekly digest email. The SMTP password comes only from MONITOR_SMTP_PASSWORD."""

    recipients: tuple[str, ...] = ()
    sender: str = "monitor@localhost"
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday"] = "monday"
    hour: int = Field(default=7, ge=0, le=23)
    timezone: str = "UTC"
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(default=30.0, gt=0)
    dashboard_url: str | None = None
    list_unsubscribe: str | None = None
    subject_prefix: str = "[monitor]"
    spike_factor: float = Field(default=3.0, gt=1.0)
    spike_min_articles: int = Field(default=10, ge=1)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for address in v:
            if not re.fullmatch(r"[^@\s<>\r\n,]+@[^@\s<>\r\n,]+", address):
                raise ValueError(f"not an email address: {address!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class Storage(_Strict):
    url: str | None = None


class Settings(_Strict):
    """The whole validated configuration, plus where it came from."""

    topic: Topic
    feeds: tuple[Feed, ...] = ()
    fetch: Fetch = Fetch()
    frames: Frames = Frames()
    analysis: Analysis = Analysis()
    digest: Digest = Digest()
    storage: Storage = Storage()
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _unique_feed_names(self) -> "Settings":
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.name in seen:
                raise ValueError(f"duplicate feed name {feed.name!r}")
            seen.add(feed.name)
        return self

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def database_url(self, override: str | None = None) -> str:
        """--db, then MONITOR_DB_URL, then storage.url, then a SQLite file beside feeds.yaml."""
        url = override or os.environ.get(ENV_DB_URL) or self.storage.url
        if not url:
            return f"sqlite:///{self.base_dir / DEFAULT_DB_NAME}"
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url[len("sqlite:///"):]
            if relative and relative != ":memory:":
                return f"sqlite:///{self.base_dir / relative}"
        return url

    def topic_labels_path(self) -> Path | None:
        """The topic's seed labels file, resolved; None when the topic has none."""
        labels = self.topic.labels
        if not labels:
            return None
        if labels.startswith("package:"):
            from importlib import resources
            return Path(str(resources.files("monitor.data").joinpath(labels[len("package:"):])))
        path = Path(labels)
        return path if path.is_absolute() else self.base_dir / path

    def feed(self, name: str) -> Feed | None:
        return next((f for f in self.feeds if f.name == name), None)

    def smtp_env(self) -> dict[str, Any]:
        """SMTP settings with the environment taking precedence; password only from env."""
        port = os.environ.get("MONITOR_SMTP_PORT")
        return {
            "host": os.environ.get("MONITOR_SMTP_HOST") or self.digest.smtp_host,
            "port": int(port) if port and port.isdigit() else self.digest.smtp_port,
            "user": os.environ.get("MONITOR_SMTP_USER") or self.digest.smtp_user,
            "password": os.environ.get("MONITOR_SMTP_PASSWORD"),
        }


def default_config_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or "feeds.yaml")


def load_settings(path: str | Path) -> Settings:
    """Read and validate a feeds.yaml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file (use --config or `monitor init DIR`)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    return parse_settings(text, str(path))


def parse_settings(text: str, source: str = "feeds.yaml") -> Settings:
    tree = _load_yaml(text, source)
    if not isinstance(tree, dict):
        raise ConfigError([f"{source}:1: the file must be a mapping with at least a `topic` section"])
    try:
        return Settings.model_validate({**tree, "source": source})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, tree, source)) from None


def _load_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError([f"{source}:{line}: YAML syntax error: {exc.problem or exc}"]) from None


def _describe(exc: ValidationError, tree: Any, source: str) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not isinstance(part, str) or "[" not in part)
        key = _key_path(loc)
        line = _line_of(tree, loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{source}:{line}: {key}: {message}" if key else f"{source}:{line}: {message}")
    return problems


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(tree: Any, loc: tuple) -> int:
    """The 1-based line of the deepest node of `loc` that exists in the YAML tree."""
    node, line = tree, 1
    for part in loc:
        try:
            if isinstance(part, int) and isinstance(node, list):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            elif isinstance(node, dict) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, IndexError, TypeError):
            break
    return line
