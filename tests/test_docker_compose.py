"""docker-compose.yml cannot run here (no Docker engine), so it is parsed and checked against the code."""

import importlib
import re
from pathlib import Path

import yaml

from testsupport.processes import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()


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


def test_all_services_exist_with_healthchecks():
    services = COMPOSE["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= set(services)
    for name in ("web", "worker", "beat", "postgres", "redis", "mailpit"):
        assert "healthcheck" in services[name], name


def test_app_services_share_one_image_built_from_the_dockerfile():
    services = COMPOSE["services"]
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in ("web", "worker", "beat"))
    assert (ROOT / "Dockerfile").exists()


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
    for name in ("web", "worker", "beat", "migrate"):
        passed |= set(COMPOSE["services"][name].get("environment", {}))
    example = Path(ROOT / ".env.example").read_text().splitlines()
    passed |= {line.split("=", 1)[0].lstrip("# ").strip() for line in example if "=" in line}
    unknown = sorted(v for v in passed if not _reads(v, known))
    assert not unknown, f"variables nothing reads: {unknown}"
