"""TOML config -> frozen dataclasses; every key declared once with its default and help text.

Where a value comes from, first match wins: the environment variable RECTBOT_<SECTION>_<KEY>, the
config file, the built-in default. The file is `--config FILE`, else $RECTBOT_CONFIG, else
./config.toml if present, else none.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.text import SCRIPTS

BUNDLED_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Old key name -> its new name. An old name still works (in the file and as RECTBOT_<SECTION>_<KEY>) when the new
# one is not set, with a warning at start-up; both set to different values is an error.
RENAMED = {"wecom.host": "http.host", "wecom.port": "http.port"}


class ConfigError(ValueError):
    """A config file or value that cannot be used; the message names the key."""


def setting(default: Any, help: str, secret: bool = False) -> Any:
    """Declare a config key with its default and one line of help; secrets are left out of repr()."""
    return field(default=default, repr=not secret, metadata={"help": help, "secret": secret})


@dataclass(frozen=True)
class StorageConfig:
    database: Path = setting(
        Path("rectbot-data/rectbot.sqlite3"),
        "SQLite database file; the index and jieba cache are kept beside it. Relative paths in a config "
        "file are relative to that file.",
    )


@dataclass(frozen=True)
class CorpusConfig:
    seeds: Path = setting(BUNDLED_SEEDS, "Folder ingested automatically into an empty database (the bundled seeds).")


@dataclass(frozen=True)
class IndexConfig:
    engine: str = setting("bm25s", "BM25 engine: bm25s (fast, default) or rank-bm25 (the reference, slow).")
    idf: str = setting("lucene", "idf variant: lucene (never negative) or robertson (rank-bm25's BM25Okapi with epsilon=0).")
    k1: float = setting(1.2, "BM25 term-frequency saturation.")
    b: float = setting(0.75, "BM25 length normalisation (0 none, 1 full).")


@dataclass(frozen=True)
class PassagesConfig:
    target_chars: int = setting(150, "Passages grow to about this many characters (short paragraphs are merged).")
    max_chars: int = setting(240, "Paragraphs longer than this are cut at sentence ends.")


@dataclass(frozen=True)
class SearchConfig:
    top_k: int = setting(3, "Excerpts per answer.")
    confident_coverage: float = setting(
        0.6, "Share of the question's weight one of the top passages must hold for a confident answer."
    )
    related_coverage: float = setting(
        0.2, "Below confident_coverage but at least this: excerpts shown as 'possibly related'; below it, nothing."
    )
    max_question_chars: int = setting(300, "Longer questions are refused with a message saying the limit.")


@dataclass(frozen=True)
class ChatConfig:
    rate_limit: int = setting(
        10, "Messages one user may send per minute on any channel; the next gets a short 'slow down', the rest nothing."
    )
    timezone: str = setting("Asia/Shanghai", "Time zone in which /stats counts 'today' (an IANA name).")


@dataclass(frozen=True)
class ParsingConfig:
    memory_mb: int = setting(1024, "Memory a worker may use to parse one file; a file needing more is rejected.")
    cpu_seconds: int = setting(60, "CPU time a worker may spend on one file; a file needing more is rejected.")
    wall_seconds: float = setting(90.0, "Wall-clock time for one file; the worker is killed and the file rejected.")


@dataclass(frozen=True)
class DisplayConfig:
    script: str = setting(
        "simplified",
        "Script of excerpts, citations and context views: simplified (traditional converted when shown) or original "
        "(as the document is written). Stored text is never changed.",
    )


@dataclass(frozen=True)
class HttpConfig:
    host: str = setting(
        "127.0.0.1", "Address of the HTTP server (/healthz, /readyz, the WeCom callback); put a TLS reverse proxy in front."
    )
    port: int = setting(8080, "Port of the HTTP server; 0: any free one (logged).")


@dataclass(frozen=True)
class TelegramConfig:
    token: str = setting("", "Bot token from @BotFather (better: the RECTBOT_TELEGRAM_TOKEN environment variable).", secret=True)
    base_url: str = setting("", "Bot API base URL, for a self-hosted Bot API server; empty: https://api.telegram.org/bot.")
    base_file_url: str = setting("", "Bot API file URL to match base_url; empty: https://api.telegram.org/file/bot.")
    proxy: str = setting("", "Proxy for reaching Telegram, e.g. http://127.0.0.1:7890 or socks5://host:1080.")
    admins: tuple[int, ...] = setting((), "Telegram user ids that may add documents, /reindex and /stats.")
    allowed_users: tuple[int, ...] = setting((), "If set (or allowed_chats is), only these users (and admins) may ask.")
    allowed_chats: tuple[int, ...] = setting((), "Chat ids (groups) whose members may all ask; empty with allowed_users empty: everyone.")


@dataclass(frozen=True)
class WeComConfig:
    corp_id: str = setting("", "CorpID (我的企业 -> 企业信息).")
    agent_id: int = setting(0, "AgentId of the self-built app (应用管理 -> the app).")
    token: str = setting("", "Token of the app's callback (接收消息 -> 设置API接收).", secret=True)
    encoding_aes_key: str = setting("", "EncodingAESKey of the app's callback: 43 characters.", secret=True)
    secret: str = setting("", "The app's Secret, for sending results of slow work (active send API).", secret=True)
    path: str = setting("/wecom/callback", "URL path of the callback on the HTTP server, as entered in the WeCom admin console.")
    api_base_url: str = setting("https://qyapi.weixin.qq.com", "WeCom server API, for gettoken and message/send.")
    admins: tuple[str, ...] = setting((), "WeCom user ids (账号) that may use 重建索引 and 统计.")
    allowed_users: tuple[str, ...] = setting((), "If set, only these WeCom user ids (and admins) may ask.")


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = field(default_factory=StorageConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    passages: PassagesConfig = field(default_factory=PassagesConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    parsing: ParsingConfig = field(default_factory=ParsingConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    wecom: WeComConfig = field(default_factory=WeComConfig)
    source: Path | None = None  # the file this was read from, if any
    renamed: tuple[str, ...] = ()  # a warning per old key name used (see RENAMED)

    def secrets(self) -> list[str]:
        """The values of every secret key that is set, for the log filter."""
        return [
            getattr(getattr(self, name), f.name)
            for name, cls in sections().items()
            for f in dataclasses.fields(cls)
            if f.metadata["secret"] and getattr(getattr(self, name), f.name)
        ]

    def __post_init__(self) -> None:
        _check_choice("index.engine", self.index.engine, ("bm25s", "rank-bm25"))
        _check_choice("index.idf", self.index.idf, ("lucene", "robertson"))
        _check_choice("display.script", self.display.script, tuple(SCRIPTS))
        for key, value in [
            ("passages.target_chars", self.passages.target_chars),
            ("passages.max_chars", self.passages.max_chars),
            ("search.top_k", self.search.top_k),
            ("search.max_question_chars", self.search.max_question_chars),
            ("chat.rate_limit", self.chat.rate_limit),
            ("parsing.memory_mb", self.parsing.memory_mb),
            ("parsing.cpu_seconds", self.parsing.cpu_seconds),
            ("parsing.wall_seconds", self.parsing.wall_seconds),
        ]:
            if value < 1:
                raise ConfigError(f"config key {key} must be at least 1, got {value}")
        if self.passages.max_chars < self.passages.target_chars:
            raise ConfigError("config key passages.max_chars must not be smaller than passages.target_chars")
        try:
            ZoneInfo(self.chat.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"config key chat.timezone must be a time zone such as Asia/Shanghai, got {self.chat.timezone!r}") from None
        if self.search.top_k > 10:
            raise ConfigError(f"config key search.top_k must be at most 10 (answers are read on phones), got {self.search.top_k}")
        proxy = self.telegram.proxy
        if proxy and not proxy.startswith(("http://", "https://", "socks5://", "socks5h://")):
            raise ConfigError(f"config key telegram.proxy must be an http://, https:// or socks5:// URL, got {proxy!r}")
        if self.wecom.encoding_aes_key and len(self.wecom.encoding_aes_key) != 43:
            raise ConfigError(
                f"config key wecom.encoding_aes_key must be 43 characters, got {len(self.wecom.encoding_aes_key)}"
            )
        if not self.wecom.path.startswith("/"):
            raise ConfigError(f"config key wecom.path must start with /, got {self.wecom.path!r}")
        if self.wecom.path in ("/healthz", "/readyz"):
            raise ConfigError(f"config key wecom.path must not be {self.wecom.path}: the HTTP server answers it itself")
        if not 0 <= self.http.port <= 65535:
            raise ConfigError(f"config key http.port must be between 0 and 65535, got {self.http.port}")
        for key in ("confident_coverage", "related_coverage"):
            if not 0 <= getattr(self.search, key) <= 1:
                raise ConfigError(f"config key search.{key} must be between 0 and 1, got {getattr(self.search, key)}")
        if self.search.related_coverage > self.search.confident_coverage:
            raise ConfigError("config key search.related_coverage must not exceed search.confident_coverage")


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"config key {key} must be one of {', '.join(choices)}, got {value!r}")


def sections() -> dict[str, type]:
    """Config section name -> its dataclass."""
    return {
        f.name: f.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(Config)
        if f.name not in ("source", "renamed")
    }


def declared_keys() -> dict[str, str]:
    """'section.key' -> help text, for every key there is."""
    return {
        f"{name}.{f.name}": f.metadata["help"]
        for name, cls in sections().items()
        for f in dataclasses.fields(cls)
    }


def _coerce(key: str, value: Any, kind: Any, base: Path | None) -> Any:
    """Check and convert one value to the type its key declares."""
    if kind is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"config key {key} must be a path (a string), got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() or base is None else base / path
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key} must be true or false, got {value!r}")
        return value
    if kind is int:
        try:
            if isinstance(value, bool) or (isinstance(value, float)):
                raise ValueError
            return int(value)
        except ValueError:
            raise ConfigError(f"config key {key} must be a whole number, got {value!r}") from None
    if kind is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except ValueError:
            raise ConfigError(f"config key {key} must be a number, got {value!r}") from None
    if kind == tuple[int, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ConfigError(f"config key {key} must be a list of numbers, got {value!r}")
        try:
            return tuple(int(item) for item in items if str(item).strip())
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key} must be a list of numbers, got {value!r}") from None
    if kind == tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise ConfigError(f"config key {key} must be a list of strings, got {value!r}")
        return tuple(item.strip() for item in items if item.strip())
    if not isinstance(value, str):
        raise ConfigError(f"config key {key} must be a string, got {value!r}")
    return value


def config_file(explicit: Path | None, environ: dict[str, str]) -> Path | None:
    """The config file to read: --config, else $RECTBOT_CONFIG, else ./config.toml if present."""
    if explicit is not None:
        return explicit
    if environ.get("RECTBOT_CONFIG"):
        return Path(environ["RECTBOT_CONFIG"])
    default = Path("config.toml")
    return default if default.is_file() else None


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config; a missing file, malformed TOML, unknown key or bad value raises ConfigError."""
    environ = dict(os.environ) if environ is None else environ
    path = config_file(path, environ)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read config file {path}: {error}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    base = path.resolve().parent if path is not None else None

    known = sections()
    for name, table in raw.items():
        if name not in known:
            raise ConfigError(f"unknown config section [{name}] in {path}; known: {', '.join(known)}")
        if not isinstance(table, dict):
            raise ConfigError(f"config key {name} must be a [{name}] table")

    moved, renamed = _moved_values(raw, environ)
    built: dict[str, Any] = {}
    for name, cls in known.items():
        table = dict(raw.get(name, {}))
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = get_type_hints(cls)
        for key in table:
            if key not in fields:
                raise ConfigError(f"unknown config key {name}.{key} in {path}; known: {', '.join(fields)}")
        values = {}
        for key in fields:
            env_name = f"RECTBOT_{name}_{key}".upper()
            old_env, old_file = moved.get(f"{name}.{key}", (None, None))
            layers = [  # the environment wins over the file; in each, the key's name over its old name
                ((f"{name}.{key} (from ${env_name})", environ[env_name]) if environ.get(env_name) else None, old_env, None),
                ((f"{name}.{key}", table[key]) if key in table else None, old_file, base),
            ]
            for new, old, relative_to in layers:
                if new is None and old is None:
                    continue
                value = _coerce(*(new or old), hints[key], relative_to)
                if new is not None and old is not None and _coerce(*old, hints[key], relative_to) != value:
                    raise ConfigError(f"config keys {new[0]} and {old[0]} are both set, to different values: remove the old one")
                values[key] = value
                break
        built[name] = cls(**values)
    return Config(**built, source=path, renamed=renamed)


Setting = tuple[str, Any]  # where a value was set (for messages), and the value


def _moved_values(
    raw: dict[str, Any], environ: dict[str, str]
) -> tuple[dict[str, tuple[Setting | None, Setting | None]], tuple[str, ...]]:
    """Values set under an old name, taken out of `raw`: new key -> (from the environment, from the file); and a
    warning for each."""
    moved: dict[str, tuple[Setting | None, Setting | None]] = {}
    warnings = []
    for old, new in RENAMED.items():
        section, key = old.split(".")
        env_name, new_env_name = f"RECTBOT_{section}_{key}".upper(), "RECTBOT_" + new.replace(".", "_").upper()
        table = raw.get(section, {})
        from_env = (f"{old} (from ${env_name})", environ[env_name]) if environ.get(env_name) else None
        from_file = (old, table.pop(key)) if key in table else None
        if from_env is not None:
            warnings.append(f"${env_name} is the old name of ${new_env_name}; please rename it")
        if from_file is not None:
            warnings.append(f"config key {old} is the old name of {new}; please move it to [{new.split('.')[0]}]")
        if from_env is not None or from_file is not None:
            moved[new] = (from_env, from_file)
    return moved, tuple(warnings)
