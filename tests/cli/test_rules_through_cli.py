"""Every rule `irkit verify` enforces, tried through the command that could break it.

The rule codes are read from the source, so a new rule fails this test until it is placed
in RULES: either with CLI attempts that must be refused (exit 2, journal unchanged) or
normalised (exit 0, verify clean), or with the reason no command can write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import irkit
from tests.conftest import KeyFiles, Runner, seeded_signer
from tests.helpers import verify

SOURCE = Path(irkit.__file__).parent
_CODE_PATTERNS = [
    re.compile(r"\.problem\(\s*[^,]+,\s*\"([a-z][a-z-]*)\"", re.S),  # ctx.problem(seq, "code"
    re.compile(r"\bproblem\(\s*\"([a-z][a-z-]*)\"", re.S),  # lifecycle's problem("code", ...)
    re.compile(r"return \"([a-z][a-z-]*)\", "),  # roster.body_problem's (code, message)
]


def verify_codes() -> set[str]:
    """The problem codes verification can emit, read from the modules it runs."""
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if path.name in ("exhibit.py", "itemindex.py") or "_cli" in path.parts:
            continue  # exhibit verification has codes of its own, the CLI none
        text = path.read_text(encoding="utf-8")
        for pattern in _CODE_PATTERNS:
            codes.update(pattern.findall(text))
    return codes


# An attempt: (args, key name, expected message fragment or None). "normalised" attempts
# must succeed and leave verify clean instead.
Attempt = tuple[tuple[str, ...], str, str | None]

TAMPER_ONLY = "only a hand-edited journal or case folder has it: no command writes it"
COMPUTED = "the command computes the field itself from the state it folds"

RULES: dict[str, list[Attempt] | str] = {
    # journal structure: the append path writes only canonical, chained, signed lines
    "malformed": TAMPER_ONLY,
    "journal": TAMPER_ONLY,  # journal.jsonl replaced by a link or special file
    "non-canonical": TAMPER_ONLY,
    "format": TAMPER_ONLY,
    "seq": TAMPER_ONLY,
    "chain": TAMPER_ONLY,
    "time": COMPUTED,
    "actor": TAMPER_ONLY,
    "unknown-kind": "Case.append refuses unknown kinds (test_case)",
    "bad-signature": TAMPER_ONLY,
    "unknown-signer": TAMPER_ONLY,
    "torn-tail": "a crash mid-append; the journal cuts back what it began (test_durability)",
    "empty": "init writes case.opened or removes the folder",
    "opened": "only init writes case.opened, and only into a new journal",
    "keys-dir": TAMPER_ONLY,
    "marker": TAMPER_ONLY,
    "untrusted-opener": "a property of the auditor's --trust, not of a write",
    "checkpoint": TAMPER_ONLY,
    "checkpoint-root": TAMPER_ONLY,
    "truncated": TAMPER_ONLY,
    # checkpoint --witness/--add-cosignature keep only lines that verify (test_witness_http)
    "cosignature": TAMPER_ONLY,
    "unwitnessed": "a property of the auditor's --witness, not of a write",
    # checkpoint --tsa / timestamp send record a token only once it verified, over a
    # checkpoint of this journal (tests/unit/test_timestamp.py, tests/cli/test_timestamp_cli.py)
    "timestamp": TAMPER_ONLY,
    "after-timestamp": "a signer's clock ahead of the TSA's, not a command's doing "
    "(tests/unit/test_timestamp.py)",
    "content": TAMPER_ONLY,
    "evidence": "the original changed after collection: a finding, not a write",
    "evidence-id": COMPUTED,
    "not-checked-here": "a property of the verifying machine (a by-reference original not "
    "reachable there, with --require-content), not of a write",
    "relocated": [
        # the digest and size are read at the path, never typed (test_relocate)
        (("evidence", "relocate", "E-0001", "@bob.pub"), "alice", "stored in the case"),
    ],
    "report-prefix": COMPUTED,
    "report-root": COMPUTED,
    "backup-signoff-on-fail": "`backup verify --sign-off` records a FAIL unsigned (test_backup)",
    "backup-manifest-mismatch": COMPUTED,  # record() looks the manifest's entry up by digest
    "lifecycle-body": "Case.append validates every body against its model",
    "lifecycle-settings": "configure validates the settings before writing (test_incident)",
    "lifecycle-priority": COMPUTED,
    "lifecycle-field": COMPUTED,  # old value, under compare-and-swap on the last seq
    "lifecycle-escalation": [
        (("case", "escalate", "--reason", "help"), "alice", "tier"),
    ],
    "lifecycle-closure": [(("case", "close", "--auto"), "alice", None)],
    # rules a command could break
    "body": [(("note", "add", "x", "--tag", "t" * 201), "alice", "tags")],
    "not-member": [
        (("note", "add", "intruder"), "mallory", "not a member"),
        (("member", "add", "@mallory.pub", "--name", "M", "--role", "lead"), "bob", "may not sign"),
    ],
    "membership": [
        (("member", "remove", "@mallory", "--reason", "typo"), "alice", "not a member"),
        (("member", "remove", "@alice", "--reason", "x"), "alice", "opener cannot be removed"),
        (("member", "add", "@bob.pub", "--name", "B", "--role", "lead"), "alice", "already"),
    ],
    "member-key": [
        (
            ("member", "add", "@identity.pub", "--name", "N", "--role", "lead"),
            "alice",
            "small-order",
        ),
    ],
    "unsorted": [
        (("note", "add", "x", "--tag", "b", "--tag", "a", "--tag", "b"), "alice", "normalised"),
        (("note", "add", "x", "--link", "E-0001", "--link", "e-0001"), "alice", "normalised"),
    ],
    "custody": [
        (
            ("custody", "release", "E-0001", "--to", "@mallory", "--purpose", "p"),
            "alice",
            "not a member",
        ),
        (("custody", "release", "E-0001", "--to", "@alice", "--purpose", "p"), "bob", "held by"),
    ],
    "bad-reference": [
        (("note", "correct", "1", "x", "--reason", "r"), "alice", "not a note"),
        (("note", "witness", "1", "--statement", "s"), "bob", "not a note"),
    ],
    "self-witness": [(("note", "witness", "@note", "--statement", "s"), "alice", "you wrote")],
    "lifecycle-transition": [(("case", "status", "pending"), "alice", "waiting-for")],
    "lifecycle-ack": [(("case", "ack", "@note"), "alice", "not an escalation")],
    "lifecycle-confirm": [(("case", "confirm", "--by", "Carl"), "alice", None)],
    "lifecycle-followup": [(("case", "followup", "done", "@note", "--note", "n"), "alice", None)],
    "lifecycle-link": [(("case", "link", "related", "INC-9", "--remove"), "alice", None)],
    "lifecycle-consent": [
        (("case", "consent", "withdraw", "@note", "--by", "C", "--how", "phone"), "alice", None)
    ],
}


def test_every_verify_rule_is_placed() -> None:
    found = verify_codes()
    assert "custody" in found and "unsorted" in found and "lifecycle-ack" in found  # sanity
    assert found == set(RULES), (
        f"new rules to place: {sorted(found - set(RULES))}; gone: {sorted(set(RULES) - found)}"
    )


@pytest.fixture
def world(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> dict[str, str]:
    """A case: Alice opens, Bob is a responder, Alice holds item E-0001, Alice's note."""
    case_dir = tmp_path / "c"
    files = tmp_path / "f"
    files.mkdir()

    def ok(*args: str, key: Path = key_files.alice) -> str:
        r = irkit(*args, key=key, case=case_dir)
        assert r.exit_code == 0, (args, r.output)
        return r.stdout

    ok("init", str(case_dir), "--title", "t", "--id", "RULES-1")
    bob = seeded_signer("bob")
    (files / "bob.pub").write_bytes(bob.public.pem())
    (files / "mallory.pub").write_bytes(seeded_signer("mallory").public.pem())
    ok("member", "add", str(files / "bob.pub"), "--name", "Bob", "--role", "responder")
    (files / "disk.img").write_bytes(b"evidence")
    ok("evidence", "collect", str(files / "disk.img"))
    note = ok("note", "add", "alice was here").split()[0].lstrip("#")
    (files / "identity.pub").write_bytes(
        Ed25519PublicKey.from_public_bytes(b"\x01" + b"\x00" * 31).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return {
        "case": str(case_dir),
        "files": str(files),
        "note": note,
        "alice": seeded_signer("alice").fingerprint,
        "mallory": seeded_signer("mallory").fingerprint,
    }


def _resolve(arg: str, world: dict[str, str]) -> str:
    if not arg.startswith("@"):
        return arg
    name = arg[1:]
    if name.endswith(".pub"):
        return str(Path(world["files"]) / name)
    return world[name]


ATTEMPTS = [
    (code, attempt)
    for code, rule in sorted(RULES.items())
    if isinstance(rule, list)
    for attempt in rule
]


@pytest.mark.parametrize(
    ("code", "attempt"), ATTEMPTS, ids=[f"{c}:{' '.join(a[0][:3])}" for c, a in ATTEMPTS]
)
def test_rule_enforced_by_the_command(
    irkit: Runner, key_files: KeyFiles, world: dict[str, str], code: str, attempt: Attempt
) -> None:
    args, who, expect = attempt
    case_dir = Path(world["case"])
    journal = case_dir / "journal.jsonl"
    before = journal.read_bytes()
    key: Callable[[], Path] = {
        "alice": lambda: key_files.alice,
        "bob": lambda: key_files.bob,
        "mallory": lambda: key_files.mallory,
    }[who]
    r = irkit(*[_resolve(a, world) for a in args], key=key(), case=case_dir)
    assert "Traceback" not in r.output
    if expect == "normalised":
        assert r.exit_code == 0, r.output
        assert verify(case_dir).ok, verify(case_dir).problems
        return
    assert r.exit_code == 2, (code, args, r.output)
    assert r.stderr.startswith("irkit: error:") and r.stderr.count("\n") <= 2, r.stderr
    if expect is not None:
        assert expect in r.stderr, r.stderr
    assert journal.read_bytes() == before, f"{code}: {args} wrote to the journal"
    assert verify(case_dir).ok
