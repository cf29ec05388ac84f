"""Entry kinds: the float-free guarantee verification relies on for its fast canonical check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from irkit.demo import story
from irkit.record import kinds
from irkit.record.bodies import Body


class _Floaty(Body):
    ratio: float


class _OptionalFloat(Body):
    value: int | float | None = None


class _OpenDict(Body):
    extra: dict[str, Any]


class _ListOfFloats(Body):
    values: list[float]


class _Nested(Body):
    inner: _ListOfFloats | None = None


class _NoFloats(Body):
    name: str
    count: int
    tags: list[str]
    flags: dict[str, bool]


class _Loose(BaseModel):  # extra fields allowed: anything may come in
    name: str


@pytest.mark.parametrize(
    "model", [_Floaty, _OptionalFloat, _OpenDict, _ListOfFloats, _Nested, _Loose]
)
def test_schemas_that_admit_a_float_are_recognised(model: type[BaseModel]) -> None:
    assert kinds.model_may_hold_float(model)


def test_a_schema_without_numbers_admits_no_float() -> None:
    assert not kinds.model_may_hold_float(_NoFloats)


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    with pytest.MonkeyPatch.context() as patch:  # the PDF report is not needed here
        patch.setattr(story, "FINAL_STEPS", [])
        result = story.run_demo(tmp_path_factory.mktemp("kinds") / "demo")
    return (Path(result.case_dir) / "journal.jsonl").read_bytes().splitlines()


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))]
    return [path]


def test_no_float_kinds_refuse_a_float_in_every_field(demo_lines: list[bytes]) -> None:
    """The premise of the fast path, checked on real bodies of (nearly) every kind: put a
    float in place of any value of a valid body and strict validation refuses it."""
    covered: set[str] = set()
    for line in demo_lines:
        entry = orjson.loads(line)
        kind, body = entry["kind"], entry["body"]
        if kinds.may_hold_float(kind):
            continue
        covered.add(kind)
        kinds.validator(kind)(body)  # the real body is valid
        for path in _leaf_paths(body):
            forged = copy.deepcopy(body)
            target = forged
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = 1.5
            with pytest.raises(ValidationError):
                kinds.validator(kind)(forged)
    assert len(covered) >= 15, sorted(covered)
