"""The kind registry (irkit/registry.py): every kind has a body model, a rule (or an explicit
None) and a summary, each family loads on its own, and verify and listings go through it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from irkit import registry
from irkit.audit.verify import verify_case
from irkit.demo import story
from irkit.formats.ed25519 import Signer
from irkit.notes.notes import add_note
from irkit.record import kinds
from irkit.record.bodies import Body
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kindspec import KindSpec
from irkit.record.summary import summarize
from tests.conftest import FixedClock


@pytest.fixture(scope="module")
def demo_entries(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    with pytest.MonkeyPatch.context() as patch:  # the PDF report is not needed here
        patch.setattr(story, "FINAL_STEPS", [])
        result = story.run_demo(tmp_path_factory.mktemp("registry") / "demo")
    return Case.open(Path(result.case_dir)).read_entries().entries


def test_every_kind_has_a_body_a_rule_or_explicit_none_and_a_summary() -> None:
    specs = registry.every()
    assert len(specs) >= 26
    for spec in specs:
        assert isinstance(spec, KindSpec)
        assert issubclass(spec.body, Body), spec.kind
        assert spec.rule is None or callable(spec.rule), spec.kind
        assert callable(spec.summary), spec.kind
        assert kinds.known(spec.kind) and kinds.body_model(spec.kind) is spec.body
    # "no rule" is a decision made per kind, never a default that was forgotten
    defaults = {
        f.name for f in dataclasses.fields(KindSpec) if f.default is not dataclasses.MISSING
    }
    assert not defaults & {"body", "rule", "summary"}


def test_no_declared_kind_is_lost_or_declared_twice() -> None:
    """A spec filed under a family whose loader does not serve it would silently vanish."""
    declared = [s.kind for loader in set(registry._FAMILIES.values()) for s in loader()]
    assert len(declared) == len(set(declared)), sorted(declared)
    assert set(declared) == {s.kind for s in registry.every()}
    assert kinds.all_kinds() == sorted(declared)


def test_unknown_kinds() -> None:
    assert registry.find("nosuch.kind") is None
    assert registry.find("note.nosuch") is None
    assert not kinds.known("note")


def test_summaries_come_from_the_specs(demo_entries: list[Entry]) -> None:
    seen = {e.kind for e in demo_entries}
    assert len(seen) >= 15
    for e in demo_entries:
        spec = registry.find(e.kind)
        assert spec is not None, e.kind
        assert summarize(e) == spec.summary(e)
        assert "\n" not in summarize(e)
    witness = next(e for e in demo_entries if e.kind == "note.witnessed")
    assert summarize(witness).startswith(f"witnesses note #{witness.body['note']}: ")


def test_one_kind_loads_only_its_family() -> None:
    """`irkit note add` validates a note body, `irkit log --kind note` selects a family: neither
    may import backup, report or incident code."""
    code = (
        "import sys\n"
        "from irkit.record import kinds\n"
        "kinds.validator('note.added')\n"
        "kinds.known('member.added')\n"
        "assert kinds.select(['note', 'case.*']) == {'note.added', 'note.corrected',"
        " 'note.witnessed', 'case.opened'}\n"
        "print(' '.join(m for m in sys.modules if m.startswith('irkit.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "irkit.notes.notes" in out
    for other in ("irkit.backup", "irkit.report", "irkit.incident", "irkit.evidence"):
        assert not any(m.startswith(other) for m in out), (other, out)


def test_verify_runs_the_specs_rule(case: Case, alice: Signer, clock: FixedClock) -> None:
    """A note witnessed by its own author (appended past the library's refusal): only the
    kind's rule in its spec catches it."""
    note = add_note(case, alice, "seen", clock=clock)
    case.append(alice, "note.witnessed", {"note": note.seq, "statement": "mine"}, clock=clock)
    report = verify_case(case.root)
    assert [p.code for p in report.problems] == ["self-witness"]


def test_every_command_of_the_lazy_table_resolves() -> None:
    """The CLI's command table is the one (module, attribute) table left: it keeps `irkit
    note add` from importing every command. Each target must exist and carry its name."""
    import click

    from irkit._cli import _COMMANDS, _SHORT_HELP, cli

    ctx = click.Context(cli)
    for name in _COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert command.name == name, (name, command.name)
        assert _SHORT_HELP.get(name), f"{name}: no short help in irkit/_cli/__init__.py"


def test_importing_the_record_loads_no_registry() -> None:
    """The registry (and the pydantic models behind it) loads on the first question about a
    kind: a command that only formats text with the record's helpers never pays for it."""
    code = (
        "import sys\n"
        "import irkit.record.entry, irkit.record.kinds, irkit.record.summary\n"
        "print(' '.join(sorted(m for m in ('irkit.registry', 'pydantic.main') "
        "if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == []


def test_made_up_kinds_are_not_remembered() -> None:
    """Kinds come from journals, which anyone may have written: asking about a million
    made-up kinds must not grow a cache by a million entries."""
    kinds.known("note.added")
    before = (len(registry._loaded), len(kinds._known))
    for i in range(1000):
        assert not kinds.known(f"made{i}.up")
        assert registry.find(f"note.up{i}") is None
    assert (len(registry._loaded), len(kinds._known)) == before
