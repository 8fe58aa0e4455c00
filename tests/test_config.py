"""Config: file, environment and defaults; bad files fail at start-up naming the key; docs stay complete."""

from __future__ import annotations

import dataclasses
import enum
import re
import tomllib
from pathlib import Path

import pytest

from rectbot.bot.config import BUNDLED_SEEDS, ConfigError, declared_keys, load_config, sections
from rectbot.retrieval.index import Engine, IdfMethod, IndexParams
from rectbot.retrieval.parsing import ParseLimits
from rectbot.retrieval.passages import PassageParams
from rectbot.retrieval.search import SearchParams
from rectbot.retrieval.text import Script

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
README = ROOT / "README.md"


def example_keys() -> set[str]:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    keys = {f"{section}.{key}" for section, table in data.items() for key in table}
    # Keys shown commented out (their default depends on the install) count too.
    section = None
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m.group(1)
        elif m := re.match(r"^#\s*(\w+)\s*=", line):
            keys.add(f"{section}.{m.group(1)}")
    return keys


def test_every_declared_key_is_in_the_example_and_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    assert example_keys() == set(declared_keys())
    for key in declared_keys():
        assert f"`{key}`" in readme, f"{key} is not documented in README.md"


def test_the_example_file_loads_and_equals_the_defaults(tmp_path: Path) -> None:
    config = load_config(EXAMPLE, environ={})
    defaults = load_config(None, environ={})
    for name in sections():
        if name != "storage":
            assert getattr(config, name) == getattr(defaults, name), name
    # Relative paths in a file are relative to the file.
    assert config.storage.database == ROOT / "rectbot-data" / "rectbot.sqlite3"


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.source is None
    assert config.corpus.seeds == BUNDLED_SEEDS
    assert (BUNDLED_SEEDS / "000_63a0b89bf990acfb.txt").exists()


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[search]\ntopk = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown config key search\.topk"):
        load_config(path, environ={})


def test_unknown_section_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[serach]\ntop_k = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown config section \[serach\]"):
        load_config(path, environ={})


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[search\ntop_k = ', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[search]\ntop_k = "three"', "search.top_k"),
        ('[search]\ntop_k = 0', "search.top_k"),
        ('[index]\nengine = "lucene"', "index.engine"),
        ('[index]\nidf = "bm25+"', "index.idf"),
        ('[search]\nconfident_coverage = 2', "search.confident_coverage"),
        ('[search]\nrelated_coverage = 0.9', "search.related_coverage"),
        ('[storage]\ndatabase = 3', "storage.database"),
        ('[telegram]\nadmins = ["me"]', "telegram.admins"),
        ('[telegram]\nproxy = "127.0.0.1:1080"', "telegram.proxy"),
        ('[wecom]\nencoding_aes_key = "short"', "wecom.encoding_aes_key"),
        ('[wecom]\npath = "callback"', "wecom.path"),
        ('[wecom]\nadmins = [1, 2]', "wecom.admins"),
        ('[chat]\nrate_limit = 0', "chat.rate_limit"),
        ('[chat]\ntimezone = "Mars/Olympus"', "chat.timezone"),
        ('[search]\ntop_k = 50', "search.top_k"),
        ('[search]\ntopic_veto = 7', "search.topic_veto"),
        ('[search]\ntopic_related = -0.1', "search.topic_related"),
        ('[search]\ntopic_sure = 1.5', "search.topic_sure"),
        ('[search]\ntopic_veto_known = 0.5', "search.topic_veto_known"),
        ('[search]\nconfident_phrases = 35', "search.confident_phrases"),
        ('[search]\nconfident_literal = 30', "search.confident_literal"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(path, environ={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_precedence_environment_then_file_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[search]\ntop_k = 5\nrelated_coverage = 0.3\n', encoding="utf-8")
    config = load_config(path, environ={"RECTBOT_SEARCH_TOP_K": "7"})
    assert config.search.top_k == 7  # environment wins
    assert config.search.related_coverage == 0.3  # then the file
    assert config.search.max_question_chars == 2000  # then the default


def test_config_file_from_environment_then_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[search]\ntop_k = 4\n", encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text("[search]\ntop_k = 6\n", encoding="utf-8")
    assert load_config(None, environ={}).search.top_k == 4
    assert load_config(None, environ={"RECTBOT_CONFIG": str(other)}).search.top_k == 6
    assert load_config(other, environ={"RECTBOT_CONFIG": "missing.toml"}).search.top_k == 6


def test_secrets_come_from_the_environment_and_stay_out_of_repr(tmp_path: Path) -> None:
    environ = {"RECTBOT_TELEGRAM_TOKEN": "123:abc", "RECTBOT_WECOM_SECRET": "s3cret",
               "RECTBOT_TELEGRAM_ADMINS": "1, 2", "RECTBOT_WECOM_ADMINS": "ZhangSan,LiSi"}
    config = load_config(None, environ=environ)
    assert config.telegram.token == "123:abc" and config.telegram.admins == (1, 2)
    assert config.wecom.admins == ("ZhangSan", "LiSi")
    assert sorted(config.secrets()) == ["123:abc", "s3cret"]
    assert "123:abc" not in repr(config) and "s3cret" not in repr(config)


def test_display_script_defaults_to_simplified_and_accepts_original(tmp_path: Path) -> None:
    assert load_config(None, environ={}).display.script == "simplified"
    path = tmp_path / "c.toml"
    path.write_text('[display]\nscript = "original"\n', encoding="utf-8")
    assert load_config(path, environ={}).display.script == "original"


def test_a_bad_display_script_names_the_key_and_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[display]\nscript = "traditional"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"display\.script must be one of simplified, original, got 'traditional'"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match=r"display\.script \(from \$RECTBOT_DISPLAY_SCRIPT\) must be one of simplified"):
        load_config(None, environ={"RECTBOT_DISPLAY_SCRIPT": "Simplified"})


def test_parsing_limits_reach_the_worker_pool(tmp_path: Path) -> None:
    from rectbot.bot.cli import parse_pool
    from rectbot.retrieval.parsing import shared_pool

    path = tmp_path / "c.toml"
    path.write_text("[parsing]\nmemory_mb = 300\ncpu_seconds = 5\nwall_seconds = 7.5\n", encoding="utf-8")
    limits = parse_pool(load_config(path)).limits
    assert (limits.memory_mb, limits.cpu_seconds, limits.wall_seconds) == (300, 5, 7.5)
    assert parse_pool(load_config(None)) is shared_pool()  # the defaults share the process's pool
    path.write_text("[parsing]\nwall_seconds = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="parsing.wall_seconds"):
        load_config(path)


def test_the_old_names_of_the_http_settings_still_work_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[wecom]\nhost = "0.0.0.0"\nport = 9090\n', encoding="utf-8")
    config = load_config(path, environ={})
    assert (config.http.host, config.http.port) == ("0.0.0.0", 9090)
    assert any("wecom.port is the old name of http.port" in warning for warning in config.renamed)
    config = load_config(path, environ={"RECTBOT_HTTP_PORT": "9191"})  # the environment wins, as for any key
    assert config.http.port == 9191
    config = load_config(None, environ={"RECTBOT_WECOM_PORT": "9292"})
    assert config.http.port == 9292 and "$RECTBOT_WECOM_PORT is the old name of $RECTBOT_HTTP_PORT" in config.renamed[0]
    assert load_config(None, environ={}).renamed == ()


def test_a_setting_under_its_old_and_new_name_with_different_values_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[wecom]\nport = 9090\n[http]\nport = 9091\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"http\.port and wecom\.port are both set"):
        load_config(path, environ={})
    path.write_text('[wecom]\nport = 9090\n[http]\nport = 9090\n', encoding="utf-8")
    assert load_config(path, environ={}).http.port == 9090


def test_the_wecom_callback_cannot_take_the_health_check_paths() -> None:
    with pytest.raises(ConfigError, match=r"wecom\.path must not be /readyz"):
        load_config(None, environ={"RECTBOT_WECOM_PATH": "/readyz"})


# Keys of a library section that the library does not know: the application's own.
APPLICATION_KEYS = {"search.top_k", "search.max_question_chars", "search.semantic"}


def library_default(params_class: type, name: str) -> object:
    for f in dataclasses.fields(params_class):
        if f.name == name:
            return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
    raise AssertionError(f"{params_class.__name__} has no field {name}")


def test_keys_that_set_library_parameters_have_the_library_defaults() -> None:
    shared = []
    for name, cls in sections().items():
        library = getattr(cls, "library", None)
        if library is None:
            continue
        for f in dataclasses.fields(cls):
            key = f"{name}.{f.name}"
            if key in APPLICATION_KEYS:
                continue
            assert f.default == library_default(library, f.name), f"{key}: config and {library.__name__} differ"
            shared.append(key)
    assert {"index.engine", "index.idf", "index.k1", "index.b", "passages.target_chars", "passages.max_chars",
            "search.confident_coverage", "search.related_coverage", "search.confident_phrases", "search.confident_literal",
            "search.calibrated",
            "search.semantic_weight", "search.semantic_related",
            "search.topic_veto", "search.topic_veto_known", "search.topic_related", "search.topic_sure", "parsing.memory_mb",
            "parsing.cpu_seconds",
            "parsing.wall_seconds"} == set(shared)
    defaults = load_config(None, environ={})
    assert defaults.index.params() == IndexParams()
    assert defaults.passages.params() == PassageParams()
    assert defaults.search.params() == SearchParams()
    assert defaults.parsing.params() == ParseLimits()


def test_every_key_that_sets_a_library_parameter_reaches_it() -> None:
    environ = {"RECTBOT_INDEX_ENGINE": "rank-bm25", "RECTBOT_INDEX_IDF": "atire", "RECTBOT_INDEX_K1": "1.5",
               "RECTBOT_INDEX_B": "0.5", "RECTBOT_PASSAGES_TARGET_CHARS": "120", "RECTBOT_PASSAGES_MAX_CHARS": "200",
               "RECTBOT_SEARCH_CONFIDENT_COVERAGE": "0.7", "RECTBOT_SEARCH_RELATED_COVERAGE": "0.3"}
    config = load_config(None, environ=environ)
    assert config.index.params() == IndexParams(engine=Engine.RANK_BM25, idf=IdfMethod.ATIRE, k1=1.5, b=0.5)
    assert config.passages.params() == PassageParams(target_chars=120, max_chars=200)
    assert config.search.params() == SearchParams(confident_coverage=0.7, related_coverage=0.3)


@pytest.mark.parametrize(("key", "choices"), [("index.engine", Engine), ("index.idf", IdfMethod),
                                              ("display.script", Script)])
def test_a_key_with_choices_takes_them_from_the_library_enum(key: str, choices: type[enum.StrEnum]) -> None:
    section, name = key.split(".")
    variable = f"RECTBOT_{section}_{name}".upper()
    for choice in choices:
        value = getattr(getattr(load_config(None, environ={variable: choice.value}), section), name)
        assert value is choice
    with pytest.raises(ConfigError, match=re.escape(f"must be one of {', '.join(choices)}, got 'bm25+'")):
        load_config(None, environ={variable: "bm25+"})
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith(f"| `{key}` |"))
    for choice in choices:  # the documentation names every choice
        assert choice.value in declared_keys()[key] and f"`{choice.value}`" in row, (key, choice)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        # The library refused these with a traceback when the corpus was opened.
        ({"RECTBOT_PASSAGES_TARGET_CHARS": "40", "RECTBOT_PASSAGES_MAX_CHARS": "60"},
         r"config section \[passages\]: max_chars \(60\) must be at least twice min_chars \(40\)"),
        ({"RECTBOT_INDEX_K1": "-1"}, r"config section \[index\]: k1 must be >= 0"),
        ({"RECTBOT_INDEX_B": "1.5"}, r"config section \[index\]: b must be between 0 and 1"),
    ],
)
def test_values_the_library_refuses_fail_at_start_up_naming_the_section(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, environ=environ)


def test_an_unknown_environment_variable_is_named_as_an_unknown_key_is() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment variable \$RECTBOT_SEARCH_TOPK; known for \[search\]: "
                                          r"\$RECTBOT_SEARCH_TOP_K, "):
        load_config(None, environ={"RECTBOT_SEARCH_TOPK": "5"})
    with pytest.raises(ConfigError, match=r"unknown environment variable \$RECTBOT_LOG_LEVEL; known: \$RECTBOT_CONFIG"):
        load_config(None, environ={"RECTBOT_LOG_LEVEL": "DEBUG"})
    with pytest.raises(ConfigError, match=r"\$RECTBOT_search_top_k"):  # names are upper case, as documented
        load_config(None, environ={"RECTBOT_search_top_k": "5"})
    # Every documented variable is known, old names included; other programs' variables are none of ours.
    environ = {"RECTBOT_SEARCH_TOP_K": "5", "RECTBOT_WECOM_HOST": "0.0.0.0", "RECTBOT_CONFIG": "", "RECTBOTX": "1",
               "PATH": "/bin"}
    assert load_config(None, environ=environ).search.top_k == 5


def test_the_readme_states_each_default_as_declared() -> None:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\| `(\w+\.\w+)` \| `([^`|]*)` \|", line):
            rows[m.group(1)] = m.group(2)
    defaults = load_config(None, environ={"RECTBOT_HOME": "/data-directory"})
    for key, stated in rows.items():
        section, name = key.split(".")
        assert stated.replace("<data directory>", "/data-directory") == str(getattr(getattr(defaults, section), name)), key
    assert len(rows) >= 20
