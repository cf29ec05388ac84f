"""The reference verifier (examples/verifier/, written from docs/FORMAT.md, no irkit import)
must reach irkit's verdict on every case, journal mutant and exhibit mutant (issue #17)."""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.audit import exhibit
from irkit.audit.verify import verify_case
from irkit.demo.story import DemoResult, run_demo
from irkit.errors import InputError
from irkit.formats import ed25519, merkle
from irkit.formats.canonical import canonical_bytes
from irkit.record import checkpoints, keyfiles
from irkit.record.case import Case
from tests.conftest import seeded_signer
from tests.unit.test_exhibit_items import make_custody_case

REPO = Path(__file__).resolve().parents[2]
VERIFIER = REPO / "examples" / "verifier" / "irkit_verify.py"


def reference(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFIER), *args], capture_output=True, text=True, check=False
    )


def test_the_reference_verifier_imports_no_irkit() -> None:
    tree = ast.parse(VERIFIER.read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "irkit" not in names
    assert names <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}


# -- the cases ---------------------------------------------------------------------------


class Journal:
    """A case's journal as entries that a mutant may change and re-sign from any point."""

    def __init__(self, case_dir: Path, signers: dict[str, ed25519.Signer]) -> None:
        self.path = case_dir / "journal.jsonl"
        self.original = self.path.read_bytes()
        self.entries = [json.loads(x) for x in self.original.splitlines()]
        self.signers = signers

    def reset(self) -> None:
        self.path.write_bytes(self.original)

    def rewrite(self, entries: list[dict[str, Any]], start: int) -> None:
        """Re-chain and re-sign entries[start:] (bodies, actors as given)."""
        lines = [x for x in self.original.splitlines()][:start]
        for index in range(start, len(entries)):
            e = {k: v for k, v in entries[index].items() if k != "sig"}
            e["seq"] = index
            if e["kind"] == "report.exported" and index > start:
                # keep the report's own claim true, so a mutant fails for its own reason only
                size = e["body"]["checkpoint_size"]
                root = merkle.root([merkle.leaf_hash(x) for x in lines[:size]])
                e["body"] = {**e["body"], "checkpoint_root": root.hex()}
            e["prev"] = (
                "sha256:" + hashlib.sha256(lines[-1]).hexdigest() if lines else "sha256:" + "0" * 64
            )
            signed = canonical_bytes(e)
            e["sig"] = base64.b64encode(self.signers[e["actor"]].sign(signed)).decode()
            lines.append(canonical_bytes(e))
        self.path.write_bytes(b"".join(x + b"\n" for x in lines))
        for kept in (self.path.parent / "checkpoints").glob("*"):
            kept.unlink()  # a forger drops the case's own checkpoints with the history

    def first(self, kind: str) -> int:
        return next(i for i, e in enumerate(self.entries) if e["kind"] == kind)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "demo")


def _demo_signers(demo: DemoResult) -> dict[str, ed25519.Signer]:
    signers = {
        s.fingerprint: s
        for s in (keyfiles.load_signer(path, lambda: None) for path in demo.key_files.values())
    }
    mallory = seeded_signer("mallory")
    return {**signers, mallory.fingerprint: mallory}


def _fp(demo: DemoResult, who: str) -> str:
    return demo.fingerprints[who]


Mutant = Callable[[Journal, DemoResult, Path], object]


def _edit(index: int | str, change: Callable[[dict[str, Any]], None]) -> Mutant:
    """Change one entry (by index or first of a kind) and re-sign it and all after it."""

    def mutate(j: Journal, demo: DemoResult, tmp: Path) -> None:
        at = index if isinstance(index, int) else j.first(index)
        entries = copy.deepcopy(j.entries)
        change(entries[at])
        j.rewrite(entries, at)

    return mutate


def _append(make: Callable[[Journal, DemoResult], list[dict[str, Any]]]) -> Mutant:
    """Append well-signed entries built by `make` (kind, actor, body, recorded)."""

    def mutate(j: Journal, demo: DemoResult, tmp: Path) -> None:
        new = make(j, demo)
        last = j.entries[-1]["recorded"]
        full = [{"format": 1, "recorded": last, **e} for e in new]
        j.rewrite([*j.entries, *full], len(j.entries))

    return mutate


def _raw(change: Callable[[list[bytes]], list[bytes]]) -> Mutant:
    def mutate(j: Journal, demo: DemoResult, tmp: Path) -> None:
        j.path.write_bytes(b"".join(x + b"\n" for x in change(j.original.splitlines())))

    return mutate


def _note(actor: str, text: str = "appended", **extra: Any) -> dict[str, Any]:
    body = {"attachments": [], "confidential": False, "tags": [], "text": text, **extra}
    return {"kind": "note.added", "actor": actor, "body": body}


def _member(actor: str, signer: ed25519.Signer | None, role: str = "responder") -> dict[str, Any]:
    assert signer is not None
    info = {
        "fingerprint": signer.fingerprint,
        "public_key": base64.b64encode(signer.public.raw).decode(),
        "name": "Mallory",
        "role": role,
    }
    return {"kind": "member.added", "actor": actor, "body": {"member": info}}


def _mallory() -> ed25519.Signer:
    return seeded_signer("mallory")


def _a(demo: DemoResult) -> str:
    return _fp(demo, "alice")


def _b(demo: DemoResult) -> str:
    return _fp(demo, "bob")


def _body_of(j: Journal, kind: str) -> dict[str, Any]:
    return copy.deepcopy(j.entries[j.first(kind)]["body"])


# mutant name -> (mutation, whether the result is still a valid case)
MUTANTS: dict[str, tuple[Mutant, bool]] = {
    "untouched": (lambda j, d, t: None, True),
    # raw damage, nothing re-signed
    "byte-flipped": (_raw(lambda ls: [ls[0], ls[1], ls[2].replace(b"e", b"E", 1), *ls[3:]]), False),
    "line-deleted": (_raw(lambda ls: [*ls[:5], *ls[6:]]), False),
    "line-duplicated": (_raw(lambda ls: [*ls[:5], ls[5], *ls[5:]]), False),
    "lines-swapped": (_raw(lambda ls: [*ls[:5], ls[6], ls[5], *ls[7:]]), False),
    "torn-tail": (
        lambda j, d, t: j.path.write_bytes(j.original + b'{"actor":"ed25519:'),
        False,
    ),
    "emptied": (lambda j, d, t: j.path.write_bytes(b""), False),
    "non-canonical": (_raw(lambda ls: [*ls[:-1], ls[-1].replace(b'","', b'", "', 1)]), False),
    # re-signed: the rules themselves
    "body-extra-member": (_edit("note.added", lambda e: e["body"].update(extra=1)), False),
    "body-float": (_edit("note.added", lambda e: e["body"].update(text=1.5)), False),
    "tags-unsorted": (_edit("note.added", lambda e: e["body"].update(tags=["b", "a"])), False),
    "label-too-long": (
        _edit("custody.stored", lambda e: e["body"].update(location="x" * 201)),
        False,
    ),
    "recorded-bad": (_edit(3, lambda e: e.update(recorded="2026-01-02T03:04:05Z")), False),
    "recorded-newline": (
        _edit("note.added", lambda e: e.update(recorded=e["recorded"] + "\n")),
        False,
    ),
    "recorded-other-digits": (
        _edit("note.added", lambda e: e.update(recorded="\u0662" + e["recorded"][1:])),
        False,
    ),
    "event-time-other-digits": (
        _edit("note.added", lambda e: e["body"].update(event_time="\u0662026-01-02T03:04:05Z")),
        False,
    ),
    "settings-hours-other-digits": (
        _edit(
            "incident.configured",
            lambda e: e["body"]["settings"]["calendars"]["business"]["hours"].update(
                mon=["0\u0668:00-17:00"]
            ),
        ),
        False,
    ),
    "event-time-zoneless": (
        _edit("note.added", lambda e: e["body"].update(event_time="2026-01-02T03:04:05")),
        False,
    ),
    "unknown-kind": (_edit("note.added", lambda e: e.update(kind="note.deleted")), False),
    "format-2": (_edit(3, lambda e: e.update(format=2)), False),
    "opener-renamed": (_edit(0, lambda e: e["body"].update(case_id="OTHER-CASE")), False),
    "evidence-id-skipped": (
        _edit("evidence.collected", lambda e: e["body"]["items"][0].update(id="E-0002")),
        False,
    ),
    "correction-of-nothing": (
        _edit("note.corrected", lambda e: e["body"].update(corrects=1)),
        False,
    ),
    "self-witness": (lambda j, d, t: _self_witness(j), False),
    "re-signed-unchanged": (_edit(2, lambda e: None), True),  # a control for the helper
    "state-old-wrong": (_edit("incident.state", lambda e: e["body"].update(old="pending")), False),
    "field-old-wrong": (_edit("incident.field", lambda e: e["body"].update(old=7)), False),
    "report-root-wrong": (
        _edit("report.exported", lambda e: e["body"].update(checkpoint_root="0" * 64)),
        False,
    ),
    "signoff-on-fail": (
        _edit("backup.verified", lambda e: e["body"].update(verdict="FAIL", signed_off=True)),
        False,
    ),
    # appended entries
    "valid-note": (_append(lambda j, d: [_note(_b(d))]), True),
    "note-event-time": (
        _append(lambda j, d: [_note(_b(d), event_time="2026-01-02T03:04:05+01:00")]),
        True,
    ),
    "links-unsorted": (_append(lambda j, d: [_note(_a(d), links=["E-0002", "E-0001"])]), False),
    "stranger-note": (_append(lambda j, d: [_note(_mallory().fingerprint)]), False),
    "admission-by-non-lead": (
        _append(lambda j, d: [_member(_b(d), _mallory()), _note(_mallory().fingerprint)]),
        False,
    ),
    "admission-by-lead": (
        _append(lambda j, d: [_member(_a(d), _mallory()), _note(_mallory().fingerprint)]),
        True,
    ),
    "removed-member-signs": (
        _append(
            lambda j, d: [
                _member(_a(d), _mallory()),
                {
                    "kind": "member.removed",
                    "actor": _a(d),
                    "body": {"fingerprint": _mallory().fingerprint, "reason": "left"},
                },
                _note(_mallory().fingerprint),
            ]
        ),
        False,
    ),
    "removed-member-re-added": (
        _append(
            lambda j, d: [
                _member(_a(d), _mallory()),
                {
                    "kind": "member.removed",
                    "actor": _a(d),
                    "body": {"fingerprint": _mallory().fingerprint, "reason": "left"},
                },
                _member(_a(d), _mallory()),
                _note(_mallory().fingerprint),
            ]
        ),
        True,
    ),
    "member-added-twice": (
        _append(lambda j, d: [_member(_a(d), _mallory()), _member(_a(d), _mallory())]),
        False,
    ),
    "opener-removed": (
        _append(
            lambda j, d: [
                {
                    "kind": "member.removed",
                    "actor": _a(d),
                    "body": {"fingerprint": _a(d), "reason": "x"},
                }
            ]
        ),
        False,
    ),
    "settings-by-non-lead": (
        _append(
            lambda j, d: [
                {
                    "kind": "incident.configured",
                    "actor": _b(d),
                    "body": _body_of(j, "incident.configured"),
                }
            ]
        ),
        False,
    ),
    "transition-not-allowed": (
        _append(
            lambda j, d: [
                {
                    "kind": "incident.state",
                    "actor": _a(d),
                    "body": {"old": "closed", "new": "resolved", "reason": "x"},
                }
            ]
        ),
        False,
    ),
    "reopen": (
        _append(
            lambda j, d: [
                {
                    "kind": "incident.state",
                    "actor": _a(d),
                    "body": {"old": "closed", "new": "in_progress", "reason": "again"},
                }
            ]
        ),
        True,
    ),
    "breach-not-breached": (
        _append(
            lambda j, d: [
                _generous(j, d),
                {
                    "kind": "incident.state",
                    "actor": _a(d),
                    "body": {"old": "closed", "new": "in_progress", "reason": "again"},
                },
                _escalation(_a(d), "resolve", _later(j.entries[-1]["recorded"], days=60)),
            ]
        ),
        False,
    ),
    "breach-respond-generous": (
        _append(
            lambda j, d: [_generous(j, d), _escalation(_a(d), "respond", j.entries[-1]["recorded"])]
        ),
        False,
    ),
    "breach-after-reopen": (
        _append(
            lambda j, d: [
                {
                    "kind": "incident.state",
                    "actor": _a(d),
                    "body": {"old": "closed", "new": "in_progress", "reason": "again"},
                },
                _escalation(_a(d), "resolve", _later(j.entries[-1]["recorded"], days=60)),
            ]
        ),
        True,
    ),
    "breach-update-clock": (
        _append(
            lambda j, d: [
                {
                    "kind": "incident.state",
                    "actor": _a(d),
                    "body": {"old": "closed", "new": "in_progress", "reason": "again"},
                },
                _escalation(_a(d), "update", _later(j.entries[-1]["recorded"], days=60)),
            ]
        ),
        True,
    ),
    "breach-unknown-clock": (
        _append(lambda j, d: [_escalation(_a(d), "lunch", j.entries[-1]["recorded"])]),
        False,
    ),
    "release-by-non-holder": (
        _append(
            lambda j, d: [
                {
                    "kind": "custody.released",
                    "actor": _a(d)
                    if j.entries[j.first("custody.accepted")]["actor"] != _a(d)
                    else _b(d),
                    "body": {
                        "transfer": "T-0002",
                        "items": ["E-0001"],
                        "to": _b(d),
                        "purpose": "x",
                    },
                }
            ]
        ),
        False,
    ),
    "release-to-stranger": (
        _append(
            lambda j, d: [
                {
                    "kind": "custody.released",
                    "actor": j.entries[j.first("custody.accepted")]["actor"],
                    "body": {
                        "transfer": "T-0002",
                        "items": ["E-0001"],
                        "to": _mallory().fingerprint,
                        "purpose": "x",
                    },
                }
            ]
        ),
        False,
    ),
    "small-order-key": (
        _append(
            lambda j, d: [
                {
                    "kind": "member.added",
                    "actor": _a(d),
                    "body": {
                        "member": {
                            "fingerprint": "ed25519:" + hashlib.sha256(bytes(32)).hexdigest(),
                            "public_key": base64.b64encode(bytes(32)).decode(),
                            "name": "Zero",
                            "role": "responder",
                        }
                    },
                }
            ]
        ),
        False,
    ),
    "relocation-of-a-stored-item": (
        _append(
            lambda j, d: [
                {
                    "kind": "evidence.relocated",
                    "actor": _a(d),
                    "body": {
                        "item": "E-0001",
                        "path": "/nas/disk.img",
                        "host": "nas",
                        "sha256": _body_of(j, "evidence.collected")["items"][0]["sha256"],
                        "size": _body_of(j, "evidence.collected")["items"][0]["size"],
                    },
                }
            ]
        ),
        False,
    ),
    "lint-waiver": (
        _append(
            lambda j, d: [
                {
                    "kind": "lint.waived",
                    "actor": _b(d),
                    "body": {"rule": "time-zone", "reason": "UTC"},
                }
            ]
        ),
        True,
    ),
    "lint-waiver-bad-rule": (
        _append(
            lambda j, d: [
                {
                    "kind": "lint.waived",
                    "actor": _b(d),
                    "body": {"rule": "Time Zone", "reason": "x"},
                }
            ]
        ),
        False,
    ),
    "timestamp-token-unchecked": (_append(lambda j, d: [_timestamped(j, d)]), True),
    "timestamp-size-differs": (_append(lambda j, d: [_timestamped(j, d, size=1)]), False),
    "timestamp-by-stranger": (_append(lambda j, d: [_timestamped(j, d, signer=_mallory())]), False),
    # the rest of the case folder
    "marker-other-case": (
        lambda j, d, t: (j.path.parent / "irkit-case.json").write_text(
            (j.path.parent / "irkit-case.json")
            .read_text()
            .replace(j.entries[0]["body"]["case_id"], "OTHER")
        ),
        False,
    ),
    "key-file-replaced": (
        lambda j, d, t: (j.path.parent / "keys" / (_b(d)[8:] + ".pub")).write_bytes(
            _mallory().public.pem()
        ),
        False,
    ),
    "store-file-altered": (
        lambda j, d, t: _alter_store(j.path.parent, j.entries),
        False,
    ),
    "checkpoint-rewritten": (
        lambda j, d, t: _alter_checkpoint(j.path.parent),
        False,
    ),
}


def _later(recorded: str, *, days: int) -> str:
    from datetime import datetime, timedelta

    moment = datetime.strptime(recorded, "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timestamped(
    j: Journal, d: DemoResult, *, size: int | None = None, signer: ed25519.Signer | None = None
) -> dict[str, Any]:
    """A `checkpoint.timestamped` over the journal as it is (the token is not a real one:
    with no TSA root pinned or given, neither verifier can check it, and both say so)."""
    from irkit.formats.signednote import Checkpoint, sign_note

    lines = j.path.read_bytes().splitlines()
    origin = f"irkit.case/{j.entries[0]['body']['case_id']}/{_a(d)[8:24]}"
    cp = Checkpoint(origin, len(lines), merkle.root([merkle.leaf_hash(x) for x in lines]))
    note = sign_note(cp.body(), signer or j.signers[_a(d)]).decode()
    body = {
        "checkpoint": note,
        "size": size or cp.size,
        "root": cp.root.hex(),
        "response": base64.b64encode(b"not a real token").decode(),
        "gen_time": j.entries[-1]["recorded"],
        "tsa": "",
        "policy": "1.2.3.4",
        "nonce": "12345",
    }
    return {"kind": "checkpoint.timestamped", "actor": _a(d), "body": body}


def _generous(j: Journal, d: DemoResult) -> dict[str, Any]:
    """New settings whose targets no clock of the demo reaches."""
    body = _body_of(j, "incident.configured")
    for target in body["settings"]["priorities"].values():
        target.update(respond=10 * 366 * 86400, resolve=10 * 366 * 86400, update=10 * 366 * 86400)
    return {"kind": "incident.configured", "actor": _a(d), "body": body}


def _escalation(actor: str, clock: str, recorded: str) -> dict[str, Any]:
    body = {"kind": "hierarchical", "tier": 2, "trigger": "breach", "clock": clock, "reason": "x"}
    return {"kind": "incident.escalated", "actor": actor, "recorded": recorded, "body": body}


def _self_witness(j: Journal) -> None:
    at = j.first("note.witnessed")
    entries = copy.deepcopy(j.entries)
    entries[at]["actor"] = entries[entries[at]["body"]["note"]]["actor"]
    j.rewrite(entries, at)


def _alter_store(root: Path, entries: list[dict[str, Any]]) -> None:
    digest = next(
        e["body"]["items"][0]["sha256"] for e in entries if e["kind"] == "evidence.collected"
    )
    path = root / "evidence" / "sha256" / digest[:2] / digest
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"!")


def _alter_checkpoint(root: Path) -> None:
    path = sorted((root / "checkpoints").iterdir())[0]
    text = path.read_text().split("\n")
    text[1] = str(int(text[1]) - 1)  # a size whose root it does not have
    path.write_text("\n".join(text))


def _copy_case(demo: DemoResult, dest: Path) -> Path:
    import shutil

    shutil.copytree(demo.case_dir, dest, symlinks=True)
    for p in dest.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
    return dest


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_reference_verifier_agrees_on_journal_mutants(
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


def test_reference_verifier_agrees_on_a_kept_checkpoint(demo: DemoResult, tmp_path: Path) -> None:
    """Dropping the last entry leaves a valid journal, except against a checkpoint kept
    elsewhere that covers it."""
    root = _copy_case(demo, tmp_path / "case")
    kept = tmp_path / "kept.txt"
    alice = _demo_signers(demo)[_a(demo)]
    kept.write_bytes(checkpoints.sign(Case.open(root), alice).note)
    lines = (root / "journal.jsonl").read_bytes().splitlines(keepends=True)
    (root / "journal.jsonl").write_bytes(b"".join(lines[:-1]))
    for p in (root / "checkpoints").iterdir():
        p.unlink()  # whoever drops entries drops the case's own checkpoints too
    assert verify_case(root).ok and reference("case", str(root)).returncode == 0
    assert not verify_case(root, checkpoints=[kept]).ok
    assert reference("case", str(root), "--checkpoint", str(kept)).returncode == 1


def test_reference_verifier_agrees_on_a_wrong_anchor(demo: DemoResult, tmp_path: Path) -> None:
    other = _mallory().fingerprint
    assert not verify_case(demo.case_dir, trust=[other]).ok
    assert reference("case", str(demo.case_dir), "--trust", other).returncode == 1


# -- exhibits ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def custody_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    base = tmp_path_factory.mktemp("custody")
    return make_custody_case(base / "case", seeded_signer("alice", "lead"), seeded_signer("bob"))


def _exhibit(case: Case, items: list[str], seqs: tuple[int, ...] = ()) -> dict[str, Any]:
    alice = seeded_signer("alice", "lead")
    note = checkpoints.sign(case, alice).note
    return exhibit.create(case, seqs, note, items=items, index_signer=alice)


def _irkit_exhibit_verdict(data: bytes, trust: str) -> int:
    try:
        return 0 if exhibit.verify(data, [trust]).ok else 1
    except InputError:
        return 2


def _swap_foreign(doc: dict[str, Any], other: dict[str, Any]) -> None:
    doc["entries"][3] = other["entries"][3]


ExhibitMutant = Callable[[dict[str, Any], dict[str, Any]], None]
EXHIBIT_MUTANTS: dict[str, ExhibitMutant] = {
    "untouched": lambda d, o: None,
    "entry-altered": lambda d, o: d["entries"][4].update(
        line=d["entries"][4]["line"].replace("T-0001", "T-0009")
    ),
    "entry-removed": lambda d, o: d["entries"].pop(4),
    "admission-removed": lambda d, o: d["entries"].pop(1),
    "opening-removed": lambda d, o: d["entries"].pop(0),
    "entry-duplicated": lambda d, o: d["entries"].append(d["entries"][4]),
    "entry-from-another-case": _swap_foreign,
    "proof-damaged": lambda d, o: d["entries"][2]["proof"].__setitem__(0, "00" * 32),
    "index-edited": lambda d, o: d.update(index=d["index"].replace(" 6 ", " ")),
    "index-from-another-case": lambda d, o: d.update(index=o["index"]),
    "items-changed": lambda d, o: d.update(items=["E-0002"]),
    "index-dropped": lambda d, o: d.pop("index"),
    "index-garbled": lambda d, o: d.update(index="nonsense"),
    "checkpoint-size": lambda d, o: d.update(
        checkpoint=d["checkpoint"].replace("\n12\n", "\n13\n")
    ),
    "not-json": lambda d, o: d.clear(),
    "lone-surrogate": lambda d, o: d["entries"][2].update(line="\ud800"),
    "unknown-member-ignored": lambda d, o: d.update(extra="ignored"),
}


@pytest.mark.parametrize("name", sorted(EXHIBIT_MUTANTS))
def test_reference_verifier_agrees_on_exhibit_mutants(
    name: str, custody_case: Case, tmp_path: Path
) -> None:
    alice = seeded_signer("alice", "lead")
    other = make_custody_case(tmp_path / "other", alice, seeded_signer("bob"))
    doc = _exhibit(custody_case, ["E-0001"])
    EXHIBIT_MUTANTS[name](doc, _exhibit(other, ["E-0001"]))
    path = tmp_path / "exhibit.json"
    path.write_text(json.dumps(doc) if doc else "{")
    ours = _irkit_exhibit_verdict(path.read_bytes(), alice.fingerprint)
    theirs = reference("exhibit", str(path), "--trust", alice.fingerprint)
    valid = name in ("untouched", "unknown-member-ignored")
    assert valid == (ours == 0), ours
    assert theirs.returncode == ours, theirs.stdout + theirs.stderr


def test_reference_verifier_agrees_on_the_demo_exhibit(demo: DemoResult, tmp_path: Path) -> None:
    """An exhibit of the demo's item (every kind the demo writes around it)."""
    case = Case.open(demo.case_dir)
    alice = _demo_signers(demo)[_a(demo)]
    note = checkpoints.sign(case, alice).note
    doc = exhibit.create(case, (3,), note, items=["E-0001"], index_signer=alice)
    path = tmp_path / "demo-exhibit.json"
    path.write_text(json.dumps(doc))
    assert _irkit_exhibit_verdict(path.read_bytes(), _a(demo)) == 0
    assert reference("exhibit", str(path), "--trust", _a(demo)).returncode == 0


# -- kinds the demo does not write: relocations, witnessed disposals ----------------------


def _both(root: Path, trust: str) -> tuple[bool, int]:
    return verify_case(root, trust=[trust]).ok, reference(
        "case", str(root), "--trust", trust
    ).returncode


def test_reference_verifier_agrees_on_relocations_and_witnesses(tmp_path: Path) -> None:
    from irkit.evidence import custody
    from irkit.evidence.collect import collect
    from irkit.evidence.relocate import relocate

    alice, bob = seeded_signer("alice", "lead"), seeded_signer("bob")
    case = make_custody_case(tmp_path / "case", alice, bob)
    original = tmp_path / "share" / "big.img"
    original.parent.mkdir()
    original.write_bytes(b"big" * 1000)
    collect(case, alice, [original], by_reference=True)  # E-0003, not copied
    moved = tmp_path / "nas" / "big.img"
    moved.parent.mkdir()
    original.rename(moved)
    relocate(case, alice, "E-0003", moved, reason="moved to the NAS")
    custody.finish(case, alice, "custody.disposed", ["E-0003"], reason="wiped", witness=bob)
    assert _both(case.root, alice.fingerprint) == (True, 0)

    # the item's newest location altered: both re-hash it there
    moved.write_bytes(b"other")
    assert _both(case.root, alice.fingerprint) == (False, 1)
    moved.write_bytes(b"big" * 1000)

    # an exhibit of the relocated item carries its relocation (a kind the rule never lists)
    note = checkpoints.sign(case, alice).note
    doc = exhibit.create(case, (), note, items=["E-0003"], index_signer=alice)
    kinds = [json.loads(e["line"])["kind"] for e in doc["entries"]]
    assert "evidence.relocated" in kinds and "custody.disposed" in kinds
    path = tmp_path / "exhibit.json"
    path.write_text(json.dumps(doc))
    assert _irkit_exhibit_verdict(path.read_bytes(), alice.fingerprint) == 0
    assert reference("exhibit", str(path), "--trust", alice.fingerprint).returncode == 0

    # a witness signature over another reason: both refuse it
    journal = Journal(case.root, {alice.fingerprint: alice, bob.fingerprint: bob})
    entries = copy.deepcopy(journal.entries)
    entries[-1]["body"]["reason"] = "kept"
    journal.rewrite(entries, len(entries) - 1)
    assert _both(case.root, alice.fingerprint) == (False, 1)


def test_an_unreachable_original_is_not_checked_here(tmp_path: Path) -> None:
    from irkit.evidence.collect import collect

    alice, bob = seeded_signer("alice", "lead"), seeded_signer("bob")
    case = make_custody_case(tmp_path / "case", alice, bob)
    original = tmp_path / "elsewhere.img"
    original.write_bytes(b"x" * 100)
    collect(case, alice, [original], by_reference=True)
    original.unlink()
    assert _both(case.root, alice.fingerprint) == (True, 0)
    strict = verify_case(case.root, trust=[alice.fingerprint], require_content=True)
    theirs = reference("case", str(case.root), "--require-content")
    assert not strict.ok and theirs.returncode == 1


def test_the_reference_verifier_knows_every_kind() -> None:
    """A kind irkit verifies but the reference verifier does not know would fail every case
    that uses it there: a new kind needs its grammar and rules in docs/FORMAT.md and in
    examples/verifier/irkit_verify.py (BODIES, Walk.rules)."""
    import importlib.util

    from irkit.record import kinds

    spec = importlib.util.spec_from_file_location("irkit_reference_verifier", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.BODIES) == set(kinds.all_kinds())
