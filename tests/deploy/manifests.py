"""What the deployment files must agree with: the apps, their settings and their ports."""

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import AliasChoices

from devstack.apps import ALL_APPS, AppSpec
from shared.auth import SERVICE_JWKS_PATH, SERVICE_ROLES
from shared.settings import PLATFORM_WIDE_FIELDS, AppSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
UVICORN_APP = re.compile(r"^(?P<module>[\w.]+):(?P<attribute>\w+)$")


def settings_class(spec: AppSpec) -> type[AppSettings]:
    return type(spec.settings())


def env_prefix(spec: AppSpec) -> str:
    prefix = settings_class(spec).model_config.get("env_prefix", "")
    return str(prefix)


def assert_env_names_are_settings(spec: AppSpec, names: set[str]) -> None:
    """Each variable is a field of the app's settings, prefixed, or a platform-wide one."""
    fields = set(settings_class(spec).model_fields)
    prefix = env_prefix(spec)
    for name in names:
        lowered = name.lower()
        if lowered in PLATFORM_WIDE_FIELDS:
            continue
        assert name.startswith(prefix), f"{spec.name}: {name} is neither {prefix}* nor platform-wide"
        assert lowered[len(prefix) :] in fields, f"{spec.name}: {name} names no setting of {spec.name}"


def secret_variables(spec: AppSpec) -> dict[str, set[str]]:
    """For each secret the app refuses to run in production without, the variables that set it."""
    cls = settings_class(spec)
    choices: dict[str, set[str]] = {}
    for name in spec.settings().production_secrets():
        names = {f"{env_prefix(spec)}{name}".upper()}
        if name in PLATFORM_WIDE_FIELDS:
            names.add(name.upper())
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        choices[name] = names
    return choices


def assert_every_secret_is_given(spec: AppSpec, names: set[str]) -> None:
    for secret, variables in secret_variables(spec).items():
        assert names & variables, f"{spec.name}: production needs {secret}, set by one of {sorted(variables)}"


def command_option(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def assert_runs_the_app(spec: AppSpec, command: list[str]) -> int:
    """The command runs this app's factory with uvicorn on the app's port; returns the port."""
    assert command[0] == "uvicorn"
    assert "--factory" in command
    target = command[command.index("--factory") + 1]
    match = UVICORN_APP.match(target)
    assert match, target
    assert target == spec.factory
    factory = getattr(importlib.import_module(match["module"]), match["attribute"])
    assert callable(factory)
    port = int(command_option(command, "--port"))
    assert port == spec.settings().port, f"{spec.name} runs on {port}, its settings say {spec.settings().port}"
    return port


def apps_by_name() -> dict[str, AppSpec]:
    return {spec.name: spec for spec in ALL_APPS}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def upstream_settings(spec: AppSpec) -> list[tuple[str, AppSpec]]:
    """The app's settings that name another app's address (`<app>_url`), as the environment
    variables that set them, with the app each one reaches."""
    others = apps_by_name()
    found = []
    for field in settings_class(spec).model_fields:
        callee = others.get(field.removesuffix("_url")) if field.endswith("_url") else None
        if callee is not None:
            found.append((f"{env_prefix(spec)}{field}".upper(), callee))
    return found


def caller_jwks_urls(spec: AppSpec, address: Callable[[AppSpec], str]) -> dict[str, str]:
    """What the app's `<APP>_CALLER_JWKS_URLS` must be: each service that calls it on someone's
    behalf, with its JWKS at `address(service)` (its compose or Kubernetes address)."""
    others = apps_by_name()
    return {caller: f"{address(others[caller])}{SERVICE_JWKS_PATH}" for caller in spec.settings().caller_jwks_urls}


def assert_trusts_its_callers(spec: AppSpec, environment: dict[str, str], address: Callable[[AppSpec], str]) -> None:
    """The app verifies the gateway's tokens, and those of each service that calls it on
    someone's behalf (as development does), at their deployed addresses."""
    gateway = apps_by_name()["gateway"]
    assert environment.get("GATEWAY_JWKS_URL") == f"{address(gateway)}{SERVICE_JWKS_PATH}"
    expected = caller_jwks_urls(spec, address)
    variable = f"{env_prefix(spec)}caller_jwks_urls".upper()
    if expected:
        assert json.loads(environment.get(variable, "{}")) == expected, variable
    else:
        assert variable not in environment


def assert_each_signer_is_trusted_by_the_services_it_calls() -> None:
    """A service that calls others on someone's behalf is trusted by each of them."""
    for name in SERVICE_ROLES:
        for _, callee in upstream_settings(apps_by_name()[name]):
            assert name in callee.settings().caller_jwks_urls, f"{callee.name} does not trust {name}'s key"


def assert_the_gateway_alone_says_who_the_client_is(command: list[str], trusted_proxies: str) -> None:
    """uvicorn does not rewrite the client from X-Forwarded-For; the gateway's trusted proxies
    are set, as CIDRs its settings accept."""
    assert "--no-proxy-headers" in command
    settings_class(apps_by_name()["gateway"]).model_validate({"trusted_proxies": json.loads(trusted_proxies)})
