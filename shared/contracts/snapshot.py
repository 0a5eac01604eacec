"""The checked-in JSON Schema of every contract, and the check that a change to one is compatible.

Every public Pydantic model defined in a module of `shared.contracts` is a contract: an event
payload registered with `register_event` is named by its type and version
(`booking.confirmed v1`), any other model (an HTTP shape, a part of an event) by its class.
`snapshots/<module>.json` holds their schemas as last written.

    python -m shared.contracts.snapshot           # check: exit 1 on a difference
    python -m shared.contracts.snapshot --write   # write the current schemas

`--write` refuses a change that breaks a contract already in the snapshot: raise the event's
version instead (a new class registered beside the old one), or name a new HTTP shape.
"""

import argparse
import importlib
import inspect
import json
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

import shared.contracts
from shared.contracts.compatibility import Schema, breaking_changes
from shared.events.envelope import EventPayload, registered_event_types

SNAPSHOTS = Path(__file__).parent / "snapshots"


def contract_modules() -> list[ModuleType]:
    """Every module of the package that defines a contract (the tooling's own define none)."""
    modules = [
        importlib.import_module(f"{shared.contracts.__name__}.{info.name}")
        for info in pkgutil.iter_modules(shared.contracts.__path__)
    ]
    return [module for module in modules if _contracts_of(module)]


def current_schemas() -> dict[str, dict[str, Schema]]:
    """By module name (`booking`), each contract's JSON Schema by its name."""
    return {module.__name__.rsplit(".", 1)[-1]: _contracts_of(module) for module in contract_modules()}


def _contracts_of(module: ModuleType) -> dict[str, Schema]:
    registered = registered_event_types()
    contracts: dict[str, Schema] = {}
    for name, model in inspect.getmembers(module, inspect.isclass):
        if name.startswith("_") or not issubclass(model, BaseModel) or model.__module__ != module.__name__:
            continue
        if issubclass(model, EventPayload):
            # An unregistered payload is a base of registered ones: its fields are in theirs.
            if (
                "event_type" not in model.__dict__
                or registered.get((model.event_type, model.event_version)) is not model
            ):
                continue
            name = f"{model.event_type} v{model.event_version}"
        # As it reads back from its file, so the two compare equal when nothing changed.
        contracts[name] = json.loads(json.dumps(model.model_json_schema()))
    return contracts


def snapshot_schemas() -> dict[str, dict[str, Schema]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(SNAPSHOTS.glob("*.json"))}


@dataclass(frozen=True)
class Differences:
    """How the current contracts differ from the snapshot."""

    breaking: list[str]
    # Added, removed-with-its-module or compatibly changed: written by `--write`.
    unrecorded: list[str]


def differences(snapshot: dict[str, dict[str, Schema]], current: dict[str, dict[str, Schema]]) -> Differences:
    breaking: list[str] = []
    unrecorded: list[str] = []
    for module in sorted(snapshot.keys() | current.keys()):
        recorded, now = snapshot.get(module, {}), current.get(module, {})
        for name in sorted(recorded.keys() | now.keys()):
            if name not in now:
                breaking.append(f"{module}: {name} was removed (readers may still meet it)")
            elif name not in recorded:
                unrecorded.append(f"{module}: {name} is new")
            elif recorded[name] != now[name]:
                problems = breaking_changes(recorded[name], now[name])
                breaking += [f"{module}: {name} {problem}" for problem in problems]
                if not problems:
                    unrecorded.append(f"{module}: {name} changed compatibly")
    return Differences(breaking=breaking, unrecorded=unrecorded)


def write(current: dict[str, dict[str, Schema]]) -> None:
    SNAPSHOTS.mkdir(exist_ok=True)
    for module, schemas in current.items():
        (SNAPSHOTS / f"{module}.json").write_text(json.dumps(schemas, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.contracts.snapshot", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the current schemas unless one breaks")
    arguments = parser.parse_args(argv)
    current = current_schemas()
    found = differences(snapshot_schemas(), current)
    for line in found.breaking:
        print(f"breaking: {line}", file=sys.stderr)
    if found.breaking:
        print("raise the version of a changed event (a new class beside the old one) instead", file=sys.stderr)
        return 1
    if arguments.write:
        write(current)
        return 0
    for line in found.unrecorded:
        print(f"not in the snapshot: {line}", file=sys.stderr)
    return 1 if found.unrecorded else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
