"""docker-compose.yml cannot run here (no Docker engine), so it is parsed, checked against the code, and
its web service is run for real: its own gunicorn command with the settings compose would give it from
.env.example, asked by its own healthcheck."""

import importlib
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from testsupport import processes
from testsupport.processes import ROOT, free_port, process_env, stop_process_group, wait_for, wait_for_http
from testsupport.services import TEST_REDIS_URL

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Compose's own services, whose host names resolve only on compose's network.
COMPOSE_HOSTS = {"DATABASE_URL": "postgres", "REDIS_URL": "redis", "EMAIL_URL": "mailpit"}
# ${NAME} and ${NAME:-default}, the only interpolation docker-compose.yml uses.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def _settings_variables() -> set[str]:
    import newsletter.conf
    import papers.conf
    import subscriptions.conf

    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', SETTINGS_SOURCE))
    for conf in (papers.conf, subscriptions.conf, newsletter.conf):
        names |= {f"{conf.PREFIX}_{name}" for name in conf.DEFAULTS}
    return names | {"ANYMAIL_*"}


def _reads(variable: str, known: set[str]) -> bool:
    return variable in known or (variable.startswith("ANYMAIL_") and "ANYMAIL_*" in known)


def _dotenv(text: str) -> dict[str, str]:
    """NAME=value lines as compose's env_file reads them (no quoting or inline comments are used)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _production(text: str) -> dict[str, str]:
    """.env.example with each set variable swapped for the commented production value below it."""
    values = _dotenv(text)
    for line in text.splitlines():
        match = re.fullmatch(r"#\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match and match[1] in values:
            values[match[1]] = match[2].strip()
    return values


def _interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's ${NAME:-default}: the .env value unless it is unset or empty."""
    resolved = _INTERPOLATION.sub(lambda m: dotenv.get(m["name"]) or (m["default"] or ""), value)
    assert "$" not in resolved, f"interpolation this test does not know: {value}"
    return resolved


def _container_env(service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """A service's environment as compose builds it: env_file, then `environment:` interpolated."""
    spec = COMPOSE["services"][service]
    assert spec["env_file"] == ".env"
    env = dict(dotenv)
    for name, value in spec.get("environment", {}).items():
        env[name] = _interpolate(str(value), dotenv)
    return env


def _runnable_here(env: dict[str, str], var_dir: Path) -> dict[str, str]:
    """Only what cannot resolve outside compose is replaced: its services' host names."""
    for name, host in COMPOSE_HOSTS.items():
        assert urlsplit(env[name]).hostname == host, f"{name}={env[name]}"
    return {
        **env,
        "DATABASE_URL": processes.test_database_url(),
        # The run's Redis when it has one; empty means the embedded broker and cache.
        "REDIS_URL": TEST_REDIS_URL or "",
        # Nothing listens there: /healthz sends no mail.
        "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
        # The Dockerfile's ENV, here a folder of this test's own.
        "PAPERBOY_VAR_DIR": str(var_dir),
    }


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match[1])


def test_all_services_exist_with_healthchecks():
    services = COMPOSE["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit", "flower"} <= set(services)
    for name in ("web", "worker", "beat", "postgres", "redis", "mailpit", "flower"):
        assert "healthcheck" in services[name], name


def test_app_services_share_one_image_built_from_the_dockerfile():
    services = COMPOSE["services"]
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in ("web", "worker", "beat"))
    assert (ROOT / "Dockerfile").exists()


def test_every_image_is_pinned_to_a_version():
    for name, service in COMPOSE["services"].items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag != "latest", f"{name}: {service['image']}"
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?", tag), f"{name}: {service['image']} names no version"
    # The image compose builds carries the project's version.
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert COMPOSE["services"]["web"]["image"] == f"paperboy:{version}"
    bases = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base) for base in bases), bases


def test_the_image_leaves_secrets_and_local_data_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", "var", ".venv", ".git"} <= ignored


def test_values_set_in_env_win_over_compose_defaults():
    for name in (*APP_SERVICES, "flower"):
        service = COMPOSE["services"][name]
        assert service["env_file"] == ".env", name
        for variable, value in service.get("environment", {}).items():
            assert re.fullmatch(rf"\$\{{{variable}:-[^}}]+\}}", str(value)), f"{name}: {variable}={value}"
    # And so resolved: what .env sets is what the container gets; what it leaves out falls back.
    dotenv = {"DATABASE_URL": "postgres://me@db.internal/paperboy", "EMAIL_URL": ""}
    env = _container_env("web", dotenv)
    assert env["DATABASE_URL"] == "postgres://me@db.internal/paperboy"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["EMAIL_URL"] == "smtp://mailpit:1025"


def test_env_example_as_copied_is_a_local_trial():
    env = _container_env("web", _dotenv(ENV_EXAMPLE))
    assert env["SITE_URL"] == "http://localhost:8000"
    assert "localhost" in env["ALLOWED_HOSTS"].split(",")
    assert env["BEHIND_TLS_PROXY"] == "false"
    assert env["SECRET_KEY"]
    assert urlsplit(env["EMAIL_URL"]).hostname == "mailpit"
    production = _production(ENV_EXAMPLE)
    assert production["SITE_URL"].startswith("https://")
    assert production["BEHIND_TLS_PROXY"] == "true"
    assert production["SECRET_KEY"] != env["SECRET_KEY"]


def test_flower_is_an_optional_profile_on_the_workers_broker():
    services = COMPOSE["services"]
    flower = services["flower"]
    assert flower["profiles"] == ["flower"]
    # A plain `docker compose up` starts only services without a profile, and nothing pulls Flower in.
    for name, service in services.items():
        if name != "flower":
            assert not service.get("profiles"), name
            assert "flower" not in service.get("depends_on", {}), name
    # The workers' image, env file and environment: the broker comes from the same settings.
    worker = services["worker"]
    for key in ("image", "env_file", "environment"):
        assert flower[key] == worker[key], key
    assert flower["command"][:4] == ["celery", "-A", "config", "flower"]
    importlib.import_module("flower")  # pinned in requirements.txt, so in the image
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_commands_name_real_modules():
    services = COMPOSE["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn"
    module, attr = web[1].split(":")
    assert hasattr(importlib.import_module(module), attr)
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert hasattr(importlib.import_module(command[2]), "celery_app")
    assert "ingest,mail" in services["worker"]["command"]
    assert (ROOT / services["migrate"]["command"][1]).exists()


def test_only_one_beat_process():
    beat = COMPOSE["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1


def test_named_volumes_are_declared():
    declared = set(COMPOSE["volumes"])
    used = set()
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used and used <= declared


def test_every_variable_passed_is_one_the_settings_read():
    known = _settings_variables()
    passed = set()
    for name in (*APP_SERVICES, "flower"):
        passed |= set(COMPOSE["services"][name].get("environment", {}))
    example = ENV_EXAMPLE.splitlines()
    passed |= {line.split("=", 1)[0].lstrip("# ").strip() for line in example if "=" in line}
    unknown = sorted(v for v in passed if not _reads(v, known))
    assert not unknown, f"variables nothing reads: {unknown}"


@contextmanager
def _service_running(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Iterator[None]:
    """A compose service's own command as a local process, on the environment compose would give it
    (and nothing else the settings read from this test's environment); its log is shown on failure."""
    overrides: dict[str, str | None] = {v: None for v in _settings_variables() if v != "ANYMAIL_*"}
    overrides.update(env)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=process_env(**overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield
    except BaseException:
        print(f"--- {name}'s log\n" + log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop_process_group(process)


def _run_healthcheck(service: str, address: str, port: int) -> None:
    """The service's own healthcheck command, re-pointed from compose's address to the local port."""
    healthcheck = COMPOSE["services"][service]["healthcheck"]
    assert healthcheck["test"][:2] == ["CMD", "python"]
    probe = [sys.executable, *healthcheck["test"][2:]]
    assert any(address in part for part in probe), probe
    probe = [part.replace(address, f"127.0.0.1:{port}") for part in probe]
    timeout = _seconds(healthcheck["timeout"])
    result = subprocess.run(probe, env=process_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("values", ["as copied", "production"])
def test_web_service_passes_its_own_healthcheck(values, transactional_db, tmp_path):
    """The web service's gunicorn command, on the settings compose gives it from .env.example (as
    copied, and with the commented production values), answers the web healthcheck's own command."""
    dotenv = _dotenv(ENV_EXAMPLE) if values == "as copied" else _production(ENV_EXAMPLE)
    env = _runnable_here(_container_env("web", dotenv), tmp_path / "var")
    port = free_port()
    command = list(COMPOSE["services"]["web"]["command"])
    bind = command.index("--bind") + 1
    assert command[bind] == "0.0.0.0:8000"
    command[bind] = f"127.0.0.1:{port}"

    with _service_running("web", command, env, tmp_path / "web.log"):
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        _run_healthcheck("web", "127.0.0.1:8000", port)
        # What the healthcheck saw: 200 itself, not a redirect it followed; and any Host is answered.
        for host in (f"127.0.0.1:{port}", "10.0.0.7:8000"):
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"host": host}, timeout=30)
            assert response.status_code == 200, (host, response.text)
            assert response.json()["database"] == response.json()["broker"] == "ok"


@pytest.mark.slow
@pytest.mark.redis
def test_flower_profile_watches_the_workers_broker(tmp_path):
    """Flower's own command, on the settings compose gives it, answers its healthcheck and names the
    Redis the workers use (the embedded broker has no events for it to watch)."""
    env = _runnable_here(_container_env("flower", _dotenv(ENV_EXAMPLE)), tmp_path / "var")
    port = free_port()
    command = [
        f"--port={port}" if part == "--port=5555" else part
        for part in COMPOSE["services"]["flower"]["command"]
    ]
    assert f"--port={port}" in command

    log_path = tmp_path / "flower.log"
    with _service_running("flower", command, env, log_path):
        wait_for_http(f"http://127.0.0.1:{port}/healthcheck", timeout=60)
        _run_healthcheck("flower", "127.0.0.1:5555", port)
        broker = urlsplit(TEST_REDIS_URL)
        wait_for(
            lambda: f"@{broker.hostname}:{broker.port}{broker.path}" in log_path.read_text(),
            timeout=10,
            message="Flower to name the workers' broker",
        )
