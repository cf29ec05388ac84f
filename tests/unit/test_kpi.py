"""KPIs over several generated cases equal values worked out by hand.

All cases run on a 24/7 calendar (itil3 targets): P1 respond 15 min, resolve 4 h, update
30 min; P3 respond 1 h, resolve 27 h, update 4 h. Internal: tier 1 (the desk, from the first call)
acknowledge 15 min, resolve 4 h; tier 2 (from the escalation) acknowledge 30 min, resolve 8 h.
Times are minutes after 2026-06-01 00:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from irkit.formats.ed25519 import Signer
from irkit.incident import actions, kpi
from irkit.incident.settings import settings_from_toml
from irkit.record.case import Case, add_member, init_case

T0 = datetime(2026, 6, 1, tzinfo=UTC)
SETTINGS = 'preset = "itil3"\n[calendars.business]\nalways = true\n'
RES = {"code": "FIX", "solution": "fixed", "outcome": "true-positive"}


class Script:
    def __init__(self, root: Path, alice: Signer, bob: Signer, impact: int, urgency: int):
        self.now = T0
        self.bob = bob
        self.case = init_case(root, title="t", case_id=root.name, signer=alice, clock=self.clock)
        add_member(self.case, alice, bob.public, name="Bob", role="technician", clock=self.clock)
        actions.configure(
            self.case, alice, settings_from_toml(SETTINGS), reason="s", clock=self.clock
        )
        actions.set_field(self.case, alice, "impact", str(impact), reason="i", clock=self.clock)
        actions.set_field(self.case, alice, "urgency", str(urgency), reason="u", clock=self.clock)

    def clock(self) -> datetime:
        return self.now

    def at(self, minutes: int) -> Script:
        self.now = T0 + timedelta(minutes=minutes)
        return self

    def state(self, new: str, **kw: object) -> None:
        actions.change_state(self.case, self.bob, new, reason="r", clock=self.clock, **kw)  # type: ignore[arg-type]


def build(tmp_path: Path, alice: Signer, bob: Signer) -> list[Case]:
    # A (P3): taken at 10 min, resolved at 2 h: TTA 600, TTR 7200, first-contact resolution.
    a = Script(tmp_path / "A", alice, bob, 2, 2)
    a.at(10).state("assigned")
    a.at(20).state("in_progress")
    a.at(120).state("resolved", resolution=RES)
    # B (P1): taken at 30 min (respond 15 min: BREACH), pending on the vendor 1 h–3 h,
    # escalated to tier 2 at 1 h 30, acknowledged at 2 h (30 min: on target), resolved at 5 h.
    # TTR = 5 h − 2 h paused = 10800; pending 7200; no customer update in 3 h running time
    # (update target 30 min: one missed period). Breaches: respond + update = 2.
    b = Script(tmp_path / "B", alice, bob, 1, 1)
    b.at(30).state("in_progress")
    b.at(60).state("pending", waiting_for="vendor")
    esc = actions.escalate(b.at(90).case, bob, kind="functional", tier=2, reason="x", clock=b.clock)
    actions.acknowledge(b.at(120).case, alice, esc.seq, note=None, clock=b.clock)
    b.at(180).state("in_progress")
    b.at(300).state("resolved", resolution=RES)
    # C (P3): taken at 5 min, resolved at 1 h, reopened at 2 h, resolved at 4 h, confirmed,
    # closed. TTA 300; TTR = 1 h + 2 h = 10800; one reopen; not first-contact.
    c = Script(tmp_path / "C", alice, bob, 2, 2)
    c.at(5).state("in_progress")
    c.at(60).state("resolved", resolution=RES)
    c.at(120).state("in_progress")
    c.at(240).state("resolved", resolution=RES)
    actions.confirm(
        c.at(250).case, bob, by="x", channel="mail", satisfaction=4, comment=None, clock=c.clock
    )
    actions.close(c.at(251).case, bob, auto=False, reason="ok", clock=c.clock)
    # D (P3): nobody took it; at the reading time (2 h) the respond clock (1 h) is breached.
    d = Script(tmp_path / "D", alice, bob, 2, 2)
    return [a.case, b.case, c.case, d.case]


def test_kpis_equal_hand_computed_values(tmp_path: Path, alice: Signer, bob: Signer) -> None:
    cases = build(tmp_path, alice, bob)
    now = T0 + timedelta(hours=2)
    late = T0 + timedelta(hours=6)
    rows = [
        kpi.case_kpi(
            c.info.case_id, c.read_entries().entries, late if c.info.case_id != "D" else now
        )
        for c in cases
    ]
    got = {
        r.case: (
            r.priority,
            r.time_to_acknowledge,
            r.time_to_resolve,
            r.pending,
            r.breaches,
            r.internal_breaches,
            r.reopens,
            r.first_contact_resolution,
        )
        for r in rows
    }
    assert got == {
        "A": (3, 600, 7200, 0, 0, 0, 0, True),
        "B": (1, 1800, 10800, 7200, 2, 1, 0, False),
        "C": (3, 300, 10800, 0, 0, 0, 1, False),
        "D": (3, None, None, 0, 1, 1, 0, False),
    }
    summary = kpi.summarize(rows)
    assert {k: v for k, v in summary.items() if k != "per_case"} == {
        "cases": 4,
        "resolved": 3,
        "mtta": 900,  # (600 + 1800 + 300) / 3
        "mttr_business": 9600,  # (7200 + 10800 + 10800) / 3
        "pending_total": 7200,
        "breaches": 3,
        "internal_breaches": 2,  # B and D: tier 1 acknowledge (15 min) missed
        "reopens": 1,
        "first_contact_resolutions": 1,
        "fcr_percent": 33.33,
        "satisfaction_mean": 4.0,
    }
