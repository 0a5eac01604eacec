"""Whether a contract's new JSON Schema still reads what the old one described, and is read by it.

A contract is shared by a producer and readers deployed one at a time, so a change must let the
old reader read what the new writer sends and the new reader read what the old writer sent.
Compatible: a new optional field, a widened enum, changed titles, descriptions or defaults.
Breaking: a removed field, a new required field, a field made required, a changed type
(including a field made nullable or no longer nullable), a narrowed enum, a tightened bound.
"""

from typing import Any

Schema = dict[str, Any]

# Words of a schema that document it without changing what it accepts.
_DOCUMENTATION = frozenset({"title", "description", "default", "examples"})
# Bounds where a larger new value accepts less (a minimum) or more (a maximum).
_LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems"})
_UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems"})


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What makes `new` incompatible with `old`, one line each naming where; empty if compatible."""
    return _Comparison(old.get("$defs", {}), new.get("$defs", {})).compare(old, new, "$")


class _Comparison:
    def __init__(self, old_defs: dict[str, Schema], new_defs: dict[str, Schema]) -> None:
        self._old_defs = old_defs
        self._new_defs = new_defs

    def compare(self, old: Schema, new: Schema, where: str) -> list[str]:
        old = _resolve(old, self._old_defs)
        new = _resolve(new, self._new_defs)
        if "anyOf" in old or "anyOf" in new:
            return self._compare_alternatives(old.get("anyOf", [old]), new.get("anyOf", [new]), where)
        if "properties" in old or "properties" in new:
            return self._compare_objects(old, new, where)
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if old_values is not None and new_values is not None:
            narrowed = [value for value in old_values if value not in new_values]
            return [f"{where}: enum no longer allows {narrowed}"] if narrowed else []
        problems = self._compare_bounds(old, new, where)
        if "items" in old and "items" in new:
            problems += self.compare(old["items"], new["items"], f"{where}[]")
        if _shape(old) != _shape(new):
            problems.append(f"{where}: type changed from {_describe(old)} to {_describe(new)}")
        return problems

    def _compare_objects(self, old: Schema, new: Schema, where: str) -> list[str]:
        old_fields: dict[str, Schema] = old.get("properties", {})
        new_fields: dict[str, Schema] = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        problems = [f"{where}.{name}: removed" for name in old_fields if name not in new_fields]
        for name, field in new_fields.items():
            if name not in old_fields:
                if name in new_required:
                    problems.append(f"{where}.{name}: new field is required (give it a default)")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{where}.{name}: became required")
            problems += self.compare(old_fields[name], field, f"{where}.{name}")
        return problems

    def _compare_alternatives(self, old: list[Schema], new: list[Schema], where: str) -> list[str]:
        """Each old alternative must still be there (compatibly), and none may be added."""
        problems: list[str] = []
        unmatched = list(new)
        for alternative in old:
            match = next(
                (candidate for candidate in unmatched if not self.compare(alternative, candidate, where)), None
            )
            if match is not None:
                unmatched.remove(match)
                continue
            kind = _resolve(alternative, self._old_defs).get("type")
            same_kind = next((c for c in unmatched if _resolve(c, self._new_defs).get("type") == kind), None)
            if same_kind is None:
                problems.append(f"{where}: no longer accepts {_describe(_resolve(alternative, self._old_defs))}")
            else:
                # The same kind of value, changed: say how.
                unmatched.remove(same_kind)
                problems += self.compare(alternative, same_kind, where)
        problems += [f"{where}: now also sends {_describe(_resolve(extra, self._new_defs))}" for extra in unmatched]
        return problems

    @staticmethod
    def _compare_bounds(old: Schema, new: Schema, where: str) -> list[str]:
        problems = []
        for bound in _LOWER_BOUNDS | _UPPER_BOUNDS:
            if bound not in new:
                continue
            if bound not in old:
                problems.append(f"{where}: new bound {bound}={new[bound]}")
            elif (bound in _LOWER_BOUNDS and new[bound] > old[bound]) or (
                bound in _UPPER_BOUNDS and new[bound] < old[bound]
            ):
                problems.append(f"{where}: {bound} tightened from {old[bound]} to {new[bound]}")
        return problems


def _resolve(schema: Schema, defs: dict[str, Schema]) -> Schema:
    """The schema behind a `$ref` into `$defs` (Pydantic's only kind of reference)."""
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _allowed_values(schema: Schema) -> list[Any] | None:
    """The values of an enum (a Literal of one value is a `const`); None for any other schema."""
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _shape(schema: Schema) -> Schema:
    """What a leaf schema accepts, without its documentation, bounds and items (compared apart)."""
    ignored = _DOCUMENTATION | _LOWER_BOUNDS | _UPPER_BOUNDS | {"items"}
    return {word: value for word, value in schema.items() if word not in ignored}


def _describe(schema: Schema) -> str:
    shape = _shape(schema)
    if "type" in shape and "format" in shape:
        return f"{shape['type']} ({shape['format']})"
    if "type" in shape:
        return str(shape["type"])
    return str(shape)
