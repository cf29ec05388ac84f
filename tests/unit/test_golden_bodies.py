"""Entry bodies built from their models (irkit.record.bodies.body_dict) are the bodies the
hand-built dicts wrote before: every optional field left out or written exactly as then.

tests/data/golden/bodies.json was written by the code before the change (hand-built dicts);
regenerate only after an intentional format change, with IRKIT_REGEN_GOLDEN=1, and review it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.notes.notes import add_note, correct_note, note_extras, witness_note
from irkit.record.case import add_member, init_case
from tests.conftest import FixedClock, seeded_signer

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "bodies.json"
# what depends on the machine, the moment or chance (salts): compared as present, not by value
_VOLATILE = frozenset({"host", "mtime", "ctime", "atime", "uid", "gid", "mode", "path", "salt"})


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "*" if k in _VOLATILE else _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value


def build(root: Path) -> list[dict[str, Any]]:
    """Every writing action, each optional field once used and once not."""
    alice, bob = seeded_signer("alice", "lead"), seeded_signer("bob")
    clock = FixedClock(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), step=60)
    case = init_case(root / "case", title="Bodies", case_id="BODY-1", signer=alice, clock=clock)
    add_member(case, alice, bob.public, name="Bob", role="responder", clock=clock)
    # notes
    first = add_note(case, bob, "plain", clock=clock)
    add_note(
        case,
        alice,
        "with extras",
        event_time=datetime(2026, 3, 4, 6, 0, tzinfo=UTC),
        tags=["b", "a"],
        confidential=True,
        extra=note_extras(starred=True),
        clock=clock,
    )
    correct_note(case, bob, first.seq, "plain, corrected", reason="typo", clock=clock)
    witness_note(case, alice, first.seq, statement="I was there", clock=clock)
    # evidence and custody
    files = root / "files"
    files.mkdir()
    (files / "a.log").write_text("a\n")
    (files / "link").symlink_to("a.log")
    collect(case, alice, [files], clock=clock)
    collect(
        case,
        alice,
        [files / "a.log"],
        description="second copy",
        location="rack 4",
        confidential=True,
        source_host="web-01",
        clock=clock,
    )
    custody.release(case, alice, ["E-0001"], to="Bob", purpose="lab", clock=clock)
    custody.accept(case, bob, "T-0001", clock=clock)
    custody.release(
        case, bob, ["E-0001"], to="Alice", purpose="back", location="lab", method="hand",
        clock=clock,
    )  # fmt: skip
    custody.accept(case, alice, "T-0002", condition="sealed", clock=clock)
    custody.check(case, alice, ["E-0001"], clock=clock)
    custody.store(case, alice, ["E-0001"], location="safe 2", clock=clock)
    custody.finish(case, alice, "custody.returned", ["E-0001"], reason="done", clock=clock)
    custody.finish(
        case, alice, "custody.disposed", ["E-0002"], reason="wiped", witness=bob, clock=clock
    )
    # the incident desk
    actions.configure(case, alice, preset("itil3"), reason="defaults", clock=clock)
    actions.set_field(case, alice, "impact", "2", reason="", clock=clock)  # priority: null
    actions.set_field(case, alice, "urgency", "1", reason="why", confidential=True, clock=clock)
    actions.set_field(case, alice, "assignee", "Bob", reason="", clock=clock)
    actions.set_field(case, alice, "owner", "network team", reason="", clock=clock)
    actions.set_field(case, alice, "assignee", "network team", reason="", clock=clock)
    actions.change_state(
        case, alice, "pending", reason="wait", waiting_for="vendor", confidential=True,
        clock=clock,
    )  # fmt: skip
    actions.change_state(case, alice, "in_progress", reason="back", clock=clock)
    actions.link(case, alice, "related", "INC-2", reason="", clock=clock)
    actions.link(case, alice, "change", "CHG-1", reason="r", change_type="normal", clock=clock)
    actions.link(
        case, alice, "known-error", "KE-1", reason="", workaround="reboot", confidential=True,
        clock=clock,
    )  # fmt: skip
    actions.link(case, alice, "related", "INC-2", reason="", remove=True, clock=clock)
    up = actions.escalate(case, alice, kind="functional", reason="help", tier=2, clock=clock)
    actions.escalate(
        case, alice, kind="hierarchical", reason="boss", team="Bob", confidential=True,
        clock=clock,
    )  # fmt: skip
    actions.escalate(case, alice, kind="functional", reason="net", team="net", clock=clock)
    actions.acknowledge(case, alice, up.seq, note=None, self_ack="on call myself", clock=clock)
    grant = actions.consent_grant(
        case, alice, by="Carl", scope="remote access", method="phone", clock=clock
    )
    actions.consent_grant(
        case, alice, by="Dora", scope="logs", method="mail", confidential=True,
        given_at=datetime(2026, 3, 4, 4, 0, tzinfo=UTC), clock=clock,
    )  # fmt: skip
    actions.consent_withdraw(
        case, alice, grant.seq, by="Carl", method="phone", reason="changed mind", clock=clock
    )
    actions.inform(case, alice, channel="mail", summary="we are on it", clock=clock)
    actions.inform(case, alice, channel="phone", summary="x", confidential=True, clock=clock)
    sched = actions.followup_schedule(
        case, alice, due=datetime(2026, 4, 1, 9, 0, tzinfo=UTC), note="check", clock=clock
    )
    actions.followup_done(case, alice, sched.seq, note="checked", confidential=True, clock=clock)
    actions.change_state(
        case, alice, "resolved", reason="fixed",
        resolution={"code": "CONFIG", "solution": "reset", "outcome": "benign", "impact": None},
        clock=clock,
    )  # fmt: skip
    actions.confirm(
        case, alice, by="Carl", channel="phone", satisfaction=4, comment=None, clock=clock
    )
    actions.close(case, alice, auto=False, reason="confirmed", clock=clock)
    return [
        {"seq": e.seq, "kind": e.kind, "body": _blank(e.body)} for e in case.read_entries().entries
    ]


def test_bodies_are_written_as_before(tmp_path: Path) -> None:
    got = build(tmp_path)
    if os.environ.get("IRKIT_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        pytest.skip("golden bodies regenerated: review the diff")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [(b["seq"], b["kind"]) for b in got] == [(b["seq"], b["kind"]) for b in want]
    for mine, theirs in zip(got, want, strict=True):
        assert mine == theirs, mine["kind"]
