"""The reference verifier (examples/verifier/) and irkit agree on the identifying details'
grammar: a member's `contact`, a collection's `source_serial`, `source_model`,
`source_mac` and `source_ip` (docs/FORMAT.md, sections 5 and "Evidence")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from irkit.audit.verify import verify_case
from irkit.demo.story import DemoResult
from tests.cli.test_reference_verifier import (
    Journal,
    Mutant,
    _a,
    _copy_case,
    _demo_signers,
    _edit,
    demo,
    reference,
)

__all__ = ["demo"]  # fixture used by name


def _collected(**fields: Any) -> Mutant:
    return _edit("evidence.collected", lambda e: e["body"].update(fields))


def _member(**fields: Any) -> Mutant:
    return _edit("member.added", lambda e: e["body"]["member"].update(fields))


MUTANTS: dict[str, tuple[Mutant, bool]] = {
    "contact": (_member(contact="+1 555 0100"), True),
    "contact-null": (_member(contact=None), True),
    "contact-empty": (_member(contact=""), False),
    "contact-too-long": (_member(contact="x" * 201), False),
    "contact-number": (_member(contact=5550100), False),
    "serial-model": (_collected(source_serial="SN-1", source_model="R640"), True),
    "serial-too-long": (_collected(source_serial="x" * 201), False),
    "model-empty": (_collected(source_model=""), False),
    "mac": (_collected(source_mac=["00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5f"]), True),
    "mac-empty-list": (_collected(source_mac=[]), True),
    "mac-upper-case": (_collected(source_mac=["00:1A:2B:3C:4D:5E"]), False),
    "mac-hyphens": (_collected(source_mac=["00-1a-2b-3c-4d-5e"]), False),
    "mac-short": (_collected(source_mac=["00:1a:2b:3c:4d"]), False),
    "mac-not-a-list": (_collected(source_mac="00:1a:2b:3c:4d:5e"), False),
    "mac-null": (_collected(source_mac=None), False),
    "ip": (_collected(source_ip=["192.0.2.1", "2001:db8::1"]), True),
    "ip-leading-zero": (_collected(source_ip=["192.0.2.01"]), False),
    "ip-v6-upper-case": (_collected(source_ip=["2001:DB8::1"]), False),
    "ip-v6-uncompressed": (_collected(source_ip=["2001:db8:0:0:0:0:0:1"]), False),
    "ip-host-name": (_collected(source_ip=["web01"]), False),
    "ip-number": (_collected(source_ip=[3221225985]), False),
    "ip-v4-mapped": (_collected(source_ip=["::ffff:c000:201"]), False),
    "ip-scoped": (_collected(source_ip=["fe80::1%eth0"]), True),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_reference_verifier_agrees_on_identity_mutants(
    name: str, demo: DemoResult, tmp_path: Path
) -> None:
    root = _copy_case(demo, tmp_path / "case")
    journal = Journal(root, _demo_signers(demo))
    mutate, valid = MUTANTS[name]
    mutate(journal, demo, tmp_path)
    trust = _a(demo)
    ours = verify_case(root, trust=[trust])
    theirs = reference("case", str(root), "--trust", trust)
    assert theirs.returncode in (0, 1), theirs.stderr
    assert ours.ok == valid, [str(p) for p in ours.problems]
    assert (theirs.returncode == 0) == ours.ok, (
        theirs.stdout + "\nirkit: " + str([str(p) for p in ours.problems])
    )
