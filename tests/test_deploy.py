"""The operator files: Dockerfile, compose.yaml, the systemd unit and the nginx example agree with the code.

CI has no container runtime, so the image is built only where a Docker daemon answers; elsewhere the files are
checked for what an operator relies on (non-root user, data volume, health check, hardening, the ports and
paths the bot really uses), and the unit is verified by systemd-analyze where it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rectbot.bot.config import Config, environment_names

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
UNIT = ROOT / "deploy" / "rectbot.service"
NGINX = ROOT / "deploy" / "nginx.conf"


def instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions (keyword, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def final_stage(path: Path) -> list[tuple[str, str]]:
    """The instructions of the image's last stage."""
    steps = instructions(path)
    start = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[start:]


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = [args for keyword, args in final_stage(DOCKERFILE) if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_the_image_keeps_its_data_on_the_volume_it_declares() -> None:
    stage = final_stage(DOCKERFILE)
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    home = re.search(r"RECTBOT_HOME=(\S+)", env)  # the data directory: database, index, caches
    volumes = " ".join(args for keyword, args in stage if keyword == "VOLUME")
    assert home and f'"{home.group(1)}"' in volumes


def test_the_image_checks_its_health_on_the_port_it_listens_on() -> None:
    stage = final_stage(DOCKERFILE)
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    port = re.search(r"RECTBOT_HTTP_PORT=(\d+)", env).group(1)
    assert re.search(r"RECTBOT_HTTP_HOST=0\.0\.0\.0", env), "inside a container the server must listen on every address"
    [check] = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in check
    assert ("EXPOSE", port) in stage
    assert any(keyword == "ENTRYPOINT" and "rectbot" in args for keyword, args in stage)
    assert ("CMD", '["serve"]') in stage


def test_everything_the_image_copies_is_in_the_repository() -> None:
    for keyword, args in instructions(DOCKERFILE):
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_compose_runs_the_image_with_its_volume_and_a_private_port() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    service = compose["services"]["rectbot"]
    assert service["build"] == "." and service["restart"] == "unless-stopped"
    [volume] = service["volumes"]
    name, target = volume.split(":")
    assert name in compose["volumes"] and service["environment"]["RECTBOT_HOME"] == target
    [port] = service["ports"]
    assert port.startswith("127.0.0.1:"), "only the reverse proxy on the host should reach the bot"
    assert "TOKEN" not in COMPOSE.read_text(encoding="utf-8").split("services:")[1]  # secrets stay in .env


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_unit_is_hardened_and_keeps_its_data_in_its_state_directory() -> None:
    unit = _unit_settings()
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "DynamicUser": "yes"}.items():
        assert unit[key] == [value], key
    state = unit["StateDirectory"][0]
    assert f"RECTBOT_HOME=/var/lib/{state}" in unit["Environment"]
    assert unit["ExecStart"][0].endswith("rectbot serve")
    assert not any("TOKEN" in value or "SECRET" in value for value in unit.get("Environment", []))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit_and_rates_it_well_hardened(tmp_path: Path) -> None:
    # verify needs ExecStart to exist: point it at this environment's rectbot.
    rectbot = Path(sys.executable).with_name("rectbot")
    unit = tmp_path / "rectbot.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/rectbot/venv/bin/rectbot", str(rectbot)),
                    encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
    # Exposure on systemd's 0-100 scale (shown as 0-10): 30 is "OK"; a unit without the hardening rates 55.
    rated = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=30", str(unit)],
                           capture_output=True, text=True)
    assert rated.returncode == 0, rated.stdout[-400:]


def test_nginx_forwards_the_callback_path_to_the_port_the_bot_listens_on() -> None:
    text = NGINX.read_text(encoding="utf-8")
    defaults = Config()
    assert f"location = {defaults.wecom.path} " in text
    assert re.search(rf"proxy_pass http://127\.0\.0\.1:{defaults.http.port};", text)
    assert "listen 443 ssl;" in text and "ssl_certificate " in text and "ssl_certificate_key " in text
    assert "return 301 https://" in text  # plain HTTP only redirects
    assert "/healthz" not in re.sub(r"#.*", "", text), "health checks stay on the private side"


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "info"], capture_output=True).returncode != 0,
    reason="no Docker daemon here (CI has none): the Dockerfile is checked above instead",
)
def test_the_image_builds_and_reports_healthy() -> None:
    subprocess.run(["docker", "build", "-t", "rectbot-test", str(ROOT)], check=True)
    container = subprocess.run(["docker", "run", "-d", "rectbot-test"], capture_output=True, text=True, check=True)
    name = container.stdout.strip()
    try:
        for _ in range(90):
            state = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", name],
                                   capture_output=True, text=True).stdout.strip()
            if state == "healthy":
                break
            subprocess.run(["sleep", "2"])
        assert state == "healthy"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_every_rectbot_variable_the_operator_files_set_is_one_rectbot_reads() -> None:
    # An unknown RECTBOT_* variable stops start-up (a misspelt one would otherwise be ignored).
    known = environment_names()
    for path in (DOCKERFILE, COMPOSE, UNIT):
        text = re.sub(r"#.*", "", path.read_text(encoding="utf-8"))
        names = set(re.findall(r"\b(RECTBOT_[A-Z0-9_]+)\b", text))
        assert names and names <= set(known), (path.name, names - set(known))
