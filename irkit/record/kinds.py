"""Which entry kinds exist and which body model each has: a view of `irkit.registry`.

Adding a kind: declare a `KindSpec(kind, body, rule, summary)` in the `KIND_SPECS` tuple of the
module that owns it (irkit/record/kindspec.py); a new family also gets one loader line in
irkit/registry.py. Only the family a command needs is imported, so appending a note does not
pay for every other domain's models.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from irkit.record.bodies import Body

# Kinds only a member with an administrative role may sign.
ADMIN_KINDS = frozenset({"member.added", "member.removed", "incident.configured"})
ADMIN_ROLES = frozenset({"lead"})


# The registry (and the pydantic models behind it) load on the first question, not when the
# record is imported: commands that only format text (`irkit backup`'s helpers) skip them.
_known: dict[str, bool] = {}  # kinds found to exist


def known(kind: str) -> bool:
    if kind in _known:
        return True
    from irkit import registry

    if registry.find(kind) is None:
        return False  # not cached: a hostile journal's made-up kinds must not pile up here
    _known[kind] = True
    return True


def all_kinds() -> list[str]:
    from irkit import registry

    return [s.kind for s in registry.every()]


_resolved: dict[str, type[Body]] = {}


def body_model(kind: str) -> type[Body]:
    model = _resolved.get(kind)
    if model is None:
        from irkit import registry

        spec = registry.find(kind)
        if spec is None:
            raise KeyError(kind)
        model = _resolved[kind] = spec.body
    return model


_validators: dict[str, Callable[[Any], Any]] = {}


def validator(kind: str) -> Callable[[Any], Any]:
    """The body model's validate function (raises pydantic.ValidationError), cached per kind:
    verification calls it once per entry."""
    check = _validators.get(kind)
    if check is None:
        check = _validators[kind] = body_model(kind).__pydantic_validator__.validate_python
    return check


@functools.cache
def may_hold_float(kind: str) -> bool:
    """Whether a body of `kind` that passes validation can still carry a JSON float.

    Bodies are strict (an int or str field refuses 1.0), so for most kinds a valid body
    holds no float, and verification can skip the float scan its fast canonical check
    otherwise needs (orjson and RFC 8785 spell some floats differently). Decided from the
    model's JSON schema and conservative: anything the schema leaves open counts as a float.
    """
    return model_may_hold_float(body_model(kind))


def model_may_hold_float(model: type[BaseModel]) -> bool:
    schema = model.model_json_schema(mode="validation")
    return _schema_may_float(schema, schema.get("$defs", {}), set())


_NO_FLOAT_TYPES = frozenset({"string", "integer", "boolean", "null"})


def _schema_may_float(node: Any, defs: dict[str, Any], seen: set[str]) -> bool:
    if node is True or node == {}:
        return True  # unconstrained: any value, floats included
    if not isinstance(node, dict):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False  # already being examined further up
        seen.add(name)
        return _schema_may_float(defs.get(name, True), defs, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node and any(_schema_may_float(sub, defs, seen) for sub in node[key]):
            return True
    if "const" in node:
        return isinstance(node["const"], float)
    if "enum" in node:
        return any(isinstance(value, float) for value in node["enum"])
    kind = node.get("type")
    types = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    if not types:
        return not any(k in node for k in ("anyOf", "oneOf", "allOf"))
    if "number" in types:
        return True
    if "object" in types:
        extra = node.get("additionalProperties", True)
        if extra is not False and _schema_may_float(extra, defs, seen):
            return True
        subs = [*node.get("properties", {}).values(), *node.get("patternProperties", {}).values()]
        if any(_schema_may_float(sub, defs, seen) for sub in subs):
            return True
    if "array" in types:
        subs = [node.get("items", True), *node.get("prefixItems", [])]
        if any(_schema_may_float(sub, defs, seen) for sub in subs):
            return True
    return not types <= (_NO_FLOAT_TYPES | {"object", "array"})


def select(patterns: Sequence[str]) -> set[str]:
    """The kinds `patterns` name: a whole kind (`note.added`) or a family (`note`, `note.*`).
    A pattern that names none is refused with the valid kinds listed, so a typo in
    `irkit log --kind` is told apart from a kind with no entries yet."""
    from irkit import registry
    from irkit.errors import InputError

    chosen: set[str] = set()
    for pattern in patterns:
        family = pattern.strip().removesuffix(".*").removesuffix(".")
        # only the pattern's family is loaded: `irkit log --kind note` imports no backup code
        hits = {
            k
            for k in registry.kinds_of(family.partition(".")[0])
            if k == family or k.startswith(family + ".")
        }
        if not hits:
            raise InputError(
                f"--kind {pattern!r} is not an entry kind; kinds: {', '.join(all_kinds())}",
                hint="a family such as `note` or `custody.*` selects all its kinds",
            )
        chosen |= hits
    return chosen


def body_of(kind: str, /, **fields: Any) -> dict[str, Any]:
    """The body to sign for an entry of `kind`, built from its model (irkit.record.bodies
    `body_dict`: what is left out when unused). Fields the model refuses are an InputError
    worded like `Case.append`'s, so a caller's bad value never surfaces as a traceback."""
    from pydantic import ValidationError

    from irkit.errors import InputError
    from irkit.record.bodies import body_dict

    try:
        model = body_model(kind).model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(f"invalid {kind} entry: {where}: {first['msg']}") from exc
    return body_dict(model)
