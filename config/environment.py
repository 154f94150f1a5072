"""Reading each app's knobs from the environment, typed by their defaults (used by config.settings)."""

from types import ModuleType
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_KINDS = {bool: "true or false", int: "whole number", float: "number", list: "comma-separated list"}


def _parse(env: environ.Env, name: str, default: Any) -> Any:
    # bool before int: True is an int too.
    if isinstance(default, bool):
        return env.bool(name)
    if isinstance(default, int):
        return env.int(name)
    if isinstance(default, float):
        return env.float(name)
    if isinstance(default, list):
        return env.list(name)
    return env.str(name)


def app_settings_from_env(
    env: environ.Env, *, conf: ModuleType, renamed: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings `conf` defines (`<PREFIX>_<NAME>`) that the environment sets, parsed with the type
    of their default, and which of them came from an old name (old -> new).

    A name the environment does not set is left out: the app's conf.py gives its default. A value of
    the wrong type, or outside the name's CHOICES, stops the start with the variable named."""
    old_names = {new: old for old, new in renamed.items()}
    values: dict[str, Any] = {}
    used_old: dict[str, str] = {}
    for name, default in conf.DEFAULTS.items():
        key = f"{conf.PREFIX}_{name}"
        source = key
        old = old_names.get(key)
        if key not in env.ENVIRON and old is not None and old in env.ENVIRON:
            source = old
            used_old[old] = key
        if source not in env.ENVIRON:
            continue
        try:
            value = _parse(env, source, default)
        except (ValueError, ImproperlyConfigured) as exc:
            kind = _KINDS.get(type(default), "text")
            raise ImproperlyConfigured(f"{source} must be a {kind}: {exc}") from None
        choices = conf.CHOICES.get(name)
        if choices and value not in choices:
            raise ImproperlyConfigured(f"{source} must be one of {', '.join(map(str, choices))}")
        values[key] = value
    return values, used_old
