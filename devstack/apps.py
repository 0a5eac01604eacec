"""The apps of the platform as the dev tooling runs them."""

import importlib
from dataclasses import dataclass
from pathlib import Path

from shared.settings import AppSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppSpec:
    name: str
    package: str

    @property
    def factory(self) -> str:
        return f"{self.package}.main:build_app"

    @property
    def migrations_dir(self) -> Path:
        return REPO_ROOT / self.package.replace(".", "/") / "migrations"

    def settings(self) -> AppSettings:
        """The app's settings as the environment gives them now (not the cached instance)."""
        module = importlib.import_module(f"{self.package}.settings")
        settings_class: type[AppSettings] = type(module.get_settings())
        return settings_class()


SERVICES = tuple(
    AppSpec(name, f"services.{name}") for name in ("inventory", "booking", "payment", "notification", "analytics")
)
GATEWAY = AppSpec("gateway", "gateway")
ALL_APPS = (*SERVICES, GATEWAY)
