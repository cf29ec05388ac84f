"""What an entry kind is: its body model, its verify rule and its one-line summary.

Each domain module declares its kinds as `KindSpec`s next to the models, rules and summaries
they name (a tuple `KIND_SPECS`); `irkit.registry` maps every kind to the module that declares it.
The context a rule sees (`Context`, with the `Problem`s it reports) is defined here rather
than in irkit.audit so that rules and the record's own kinds can be typed without importing
the auditor: the record may not import a layer above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from irkit.record.bodies import Body
    from irkit.record.entry import Entry
    from irkit.record.roster import Roster


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"entry {self.seq}: " if self.seq is not None else ""
        return f"{where}{self.message}"


@dataclass
class Context:
    """What kind-specific rules see while the chain is walked in order.

    `state` is scratch space for domain rules (custody holders, lifecycle state...), keyed by
    the domain's name; `content_digests` lists store files to re-hash at the end.
    """

    roster: Roster
    problems: list[Problem]
    warnings: list[Problem]
    content_digests: dict[str, int] = field(default_factory=dict)  # sha256 -> first seq
    seen: dict[int, Entry] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    case_root: Path | None = None
    content: bool = True
    # an original collected by reference that is not reachable here is a problem, not a
    # "not checked here" warning (`verify --require-content`)
    require_content: bool = False
    good_actors: set[str] = field(default_factory=set)  # strings already seen to be fingerprints

    def problem(self, seq: int | None, code: str, message: str) -> None:
        self.problems.append(Problem(seq=seq, code=code, message=message))

    def warn(self, seq: int | None, code: str, message: str) -> None:
        self.warnings.append(Problem(seq=seq, code=code, message=message))


# A kind's rule: called for each entry of the kind whose body is valid, in journal order.
Rule = Callable[["Entry", Context], None]
# Run once after the walk (end-of-chain checks: stored copies re-hashed, leftovers...).
Finisher = Callable[[Context], None]
# One line for listings (`irkit log`, `case show`); "" when the kind column says it all.
Summary = Callable[["Entry"], str]


@dataclass(frozen=True)
class KindSpec:
    """One entry kind. `rule=None` says, explicitly, that the kind has no rule of its own
    (the walk's generic checks still apply: signature, chain, membership, body schema)."""

    kind: str
    body: type[Body]
    rule: Rule | None
    summary: Summary


def no_summary(entry: Entry) -> str:
    """For kinds whose kind name is the whole story in a listing."""
    return ""
