"""Config: file, environment and defaults; bad files fail at start-up naming the key; docs stay complete."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import BUNDLED_SEEDS, ConfigError, declared_keys, load_config

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
    assert config.index == defaults.index
    assert config.search == defaults.search
    assert config.passages == defaults.passages
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
    assert config.search.max_question_chars == 300  # then the default


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
    with pytest.raises(ConfigError, match=r"display\.script must be one of simplified, original"):
        load_config(None, environ={"RECTBOT_DISPLAY_SCRIPT": "Simplified"})


def test_parsing_limits_reach_the_worker_pool(tmp_path: Path) -> None:
    from bot.cli import parse_pool
    from retrieval.parsing import shared_pool

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
