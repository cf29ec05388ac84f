"""The incident lifecycle on real signed journals: clocks from entries, refusals, forgeries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from irkit.errors import InputError, NotAuthorizedError
from irkit.formats.ed25519 import Signer
from irkit.incident import actions, lifecycle
from irkit.incident.settings import settings_from_toml
from irkit.incident.sla import ClockReading, seconds
from irkit.record.case import Case, add_member, init_case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash
from tests.helpers import lines, verify

H = 3600

# Office hours in Berlin with Christmas Day off; P3 (impact 2 × urgency 2) targets:
# respond 1 h, resolve 27 h, update 4 h, all on the office calendar (itil3 preset).
BERLIN = (
    'preset = "itil3"\nzone = "Europe/Berlin"\n[calendars.business]\nholidays = ["2026-12-25"]\n'
)


class SetClock:
    """A clock the test moves by hand: every entry is recorded at exactly `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def open_incident(
    root: Path, alice: Signer, bob: Signer, at: datetime, settings_toml: str = BERLIN
) -> tuple[Case, SetClock]:
    clock = SetClock(at)
    case = init_case(root, title="Printer on fire", case_id="HD-1", signer=alice, clock=clock)
    add_member(case, alice, bob.public, name="Bob", role="technician", clock=clock)
    actions.configure(
        case, alice, settings_from_toml(settings_toml), reason="desk SLA", clock=clock
    )
    actions.set_field(case, alice, "impact", "2", reason="one team", clock=clock)
    actions.set_field(case, alice, "urgency", "2", reason="can work around", clock=clock)
    return case, clock


def step(case: Case, clock: SetClock, at: str, action: str, signer: Signer, **kw: object) -> None:
    clock.now = z(at)
    if action == "state":
        actions.change_state(case, signer, clock=clock, **kw)  # type: ignore[arg-type]
    elif action == "inform":
        actions.inform(case, signer, clock=clock, **kw)  # type: ignore[arg-type]


def readings(case: Case, now: str) -> dict[str, ClockReading]:
    inc = lifecycle.fold(case.read_entries().entries)
    found = lifecycle.clocks(inc, z(now))
    return {r.name: r for r in found.customer + found.internal}


RESOLUTION = {"code": "HW", "solution": "replaced fuser", "outcome": "true-positive"}


def reopen_scenario(tmp_path: Path, alice: Signer, bob: Signer) -> Case:
    """Thu 24 Dec 2026 15:00 Berlin (14:00Z) ... resolved, reopened, resolved again.

    All times below in UTC (Berlin = UTC+1); office 08–17 local = 07–16Z, Fri 25 holiday.
    """
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-12-24T14:00:00"))
    step(case, clock, "2026-12-24T14:30:00", "state", bob, new="assigned", reason="mine")
    step(case, clock, "2026-12-24T15:00:00", "state", bob, new="in_progress", reason="on it")
    step(
        case,
        clock,
        "2026-12-24T15:30:00",
        "state",
        bob,
        new="pending",
        waiting_for="customer",
        reason="needs the model number",
    )
    step(case, clock, "2026-12-28T09:00:00", "state", bob, new="in_progress", reason="got it")
    step(case, clock, "2026-12-28T10:00:00", "inform", bob, channel="phone", summary="part due")
    step(
        case,
        clock,
        "2026-12-28T11:00:00",
        "state",
        bob,
        new="resolved",
        reason="fixed",
        resolution=RESOLUTION,
    )
    step(case, clock, "2026-12-29T08:00:00", "state", bob, new="in_progress", reason="jams again")
    return case


def test_reopen_scenario_clocks_by_hand(tmp_path: Path, alice: Signer, bob: Signer) -> None:
    case = reopen_scenario(tmp_path, alice, bob)
    # Now Tue 29 Dec 09:30 Berlin (08:30Z), reopened since 09:00 Berlin.
    r = readings(case, "2026-12-29T08:30:00")
    # respond: opened Thu 15:00, assigned Thu 15:30 local -> 30 min, met.
    assert r["respond"].status == "met" and seconds(r["respond"].elapsed) == 1800
    # resolve: Thu 15:00–16:30 (1 h 30) + [pending Thu 16:30 .. Mon 10:00 excluded]
    # + Mon 10:00–12:00 (2 h) + Tue 09:00–09:30 (30 min) = 4 h = 14400 s.
    res = r["resolve"]
    assert res.status == "running" and seconds(res.elapsed) == 4 * H
    # deadline: Tue 09:00 + (27 h − 3 h 30 used before) = 23 h 30 of office time:
    # Tue 8 h, Wed 9 h, Thu 31 Dec 08:00 + 6 h 30 = 14:30 local = 13:30Z
    assert res.deadline == z("2026-12-31T13:30:00")
    assert res.permille == 148  # 14400 / 97200
    # update: restarted at the call Mon 11:00 local: Mon 11–12 (1 h) + Tue 09–09:30 = 1 h 30
    upd = r["update"]
    assert seconds(upd.elapsed) == 5400 and upd.deadline == z("2026-12-29T11:00:00")

    clock = SetClock(z("2026-12-29T09:15:00"))
    actions.change_state(
        case, bob, "resolved", reason="fixed for good", resolution=RESOLUTION, clock=clock
    )
    r = readings(case, "2026-12-30T12:00:00")
    # + Tue 09:00–10:15 (1 h 15): 1 h 30 + 2 h + 1 h 15 = 4 h 45 = 17100 s, met, no deadline
    assert r["resolve"].status == "met" and seconds(r["resolve"].elapsed) == 17100
    assert r["resolve"].deadline is None and r["resolve"].stopped == z("2026-12-29T09:15:00")
    inc = lifecycle.fold(case.read_entries().entries)
    assert inc.reopens == 1
    # pending: Thu 15:30Z .. Mon 09:00Z = 3 d 17 h 30 min wall clock
    assert seconds(lifecycle.pending_time(inc, z("2026-12-30T12:00:00"))) == 322200
    assert verify(case.root).ok


def test_pending_on_a_change_does_not_stop_the_clock(
    tmp_path: Path, alice: Signer, bob: Signer
) -> None:
    # 24/7 calendar everywhere: P3 resolve 27 h.
    toml = 'preset = "itil3"\n[calendars.business]\nalways = true\n'
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"), toml)
    step(case, clock, "2026-05-04T01:00:00", "state", bob, new="in_progress", reason="go")
    step(
        case,
        clock,
        "2026-05-04T02:00:00",
        "state",
        bob,
        new="pending",
        waiting_for="change",
        reason="CAB tonight",
    )
    r = readings(case, "2026-05-04T05:00:00")
    assert r["resolve"].status == "running" and seconds(r["resolve"].elapsed) == 5 * H
    assert r["resolve"].deadline == z("2026-05-05T03:00:00")
    step(case, clock, "2026-05-04T05:00:00", "state", bob, new="in_progress", reason="done")
    step(
        case,
        clock,
        "2026-05-04T06:00:00",
        "state",
        bob,
        new="pending",
        waiting_for="vendor",
        reason="RMA",
    )
    r = readings(case, "2026-05-04T09:00:00")
    assert r["resolve"].status == "paused" and seconds(r["resolve"].elapsed) == 6 * H
    assert r["resolve"].deadline is None


def test_forbidden_moves_are_refused_and_nothing_is_written(
    tmp_path: Path, alice: Signer, bob: Signer
) -> None:
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    before = len(lines(case.root))
    with pytest.raises(InputError, match="resolving needs a resolution code"):
        actions.change_state(
            case, bob, "resolved", reason="x", resolution={"code": ""}, clock=clock
        )
    with pytest.raises(InputError, match="not allowed"):
        actions.change_state(case, bob, "closed", reason="x", clock=clock)
    actions.change_state(case, bob, "in_progress", reason="x", clock=clock)
    before += 1
    with pytest.raises(InputError, match="needs a reason"):
        actions.change_state(case, bob, "pending", reason="x", clock=clock)
    with pytest.raises(InputError, match="resolve it first"):
        actions.close(case, bob, auto=False, reason="x", clock=clock)
    assert len(lines(case.root)) == before
    actions.change_state(
        case, bob, "resolved", reason="first call", resolution=RESOLUTION, clock=clock
    )
    with pytest.raises(InputError, match="confirmation"):
        actions.close(case, bob, auto=False, reason="x", clock=clock)
    with pytest.raises(InputError, match="5 days"):
        actions.close(case, bob, auto=True, reason="x", clock=clock)
    clock.now += timedelta(days=5)
    actions.close(case, bob, auto=True, reason="no answer", clock=clock)
    with pytest.raises(InputError, match="closed -> pending is not allowed"):
        actions.change_state(case, bob, "pending", waiting_for="customer", reason="x", clock=clock)
    inc = lifecycle.fold(case.read_entries().entries)
    assert inc.state == "closed" and inc.closure == {"how": "auto", "after_days": 5}
    assert verify(case.root).ok


def test_non_member_is_refused(tmp_path: Path, alice: Signer, bob: Signer, mallory: Signer) -> None:
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    with pytest.raises(NotAuthorizedError):
        actions.change_state(case, mallory, "in_progress", reason="x", clock=clock)
    with pytest.raises(NotAuthorizedError):  # settings are for leads only
        actions.configure(case, bob, settings_from_toml(BERLIN), reason="x", clock=clock)


def _forge(
    case: Case,
    signer: Signer,
    kind: str,
    body: dict[str, object],
    recorded: str = "2026-05-04T12:00:00.000000Z",
) -> None:
    """Append a correctly signed and chained entry without any of the lifecycle checks."""
    existing = lines(case.root)
    line = build_line(
        signer,
        seq=len(existing),
        prev=entry_hash(existing[-1]),
        kind=kind,
        body=body,
        recorded=recorded,
    )
    with (case.root / "journal.jsonl").open("ab") as fh:
        fh.write(line + b"\n")
    case.invalidate_state()


@pytest.mark.parametrize(
    ("setup", "forged", "code"),
    [
        # closed -> pending: forbidden by the state machine
        (
            ["resolve", "confirm", "close"],
            {"old": "closed", "new": "pending", "reason": "x", "waiting_for": "customer"},
            "lifecycle-transition",
        ),
        # closure without a resolution code
        (
            ["start"],
            {"old": "in_progress", "new": "closed", "reason": "x", "closure": {"how": "auto"}},
            "lifecycle-transition",
        ),
        # resolved without a resolution at all
        (
            ["start"],
            {"old": "in_progress", "new": "resolved", "reason": "x"},
            "lifecycle-transition",
        ),
        # old state that is not the current one
        (["start"], {"old": "new", "new": "assigned", "reason": "x"}, "lifecycle-transition"),
    ],
)
def test_forged_lifecycle_entries_are_flagged_by_verify(
    tmp_path: Path,
    alice: Signer,
    bob: Signer,
    setup: list[str],
    forged: dict[str, object],
    code: str,
) -> None:
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    actions.change_state(case, bob, "in_progress", reason="go", clock=clock)
    if "resolve" in setup:
        actions.change_state(case, bob, "resolved", reason="ok", resolution=RESOLUTION, clock=clock)
    if "confirm" in setup:
        actions.confirm(
            case, bob, by="Ms Smith", channel="phone", satisfaction=5, comment=None, clock=clock
        )
    if "close" in setup:
        actions.close(case, bob, auto=False, reason="confirmed", clock=clock)
    assert verify(case.root).ok
    _forge(case, bob, "incident.state", forged)
    report = verify(case.root)
    assert [p.code for p in report.problems] == [code]


def test_state_change_signed_by_a_non_member_is_flagged(
    tmp_path: Path, alice: Signer, bob: Signer, mallory: Signer
) -> None:
    case, _ = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    _forge(case, mallory, "incident.state", {"old": "new", "new": "in_progress", "reason": "x"})
    codes = {p.code for p in verify(case.root).problems}
    assert "not-member" in codes


def test_forged_field_priority_and_breach_escalation_are_flagged(
    tmp_path: Path, alice: Signer, bob: Signer
) -> None:
    case, _ = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    # impact is 2 (urgency 2): claiming it was 3, and a priority the matrix does not give
    _forge(
        case,
        bob,
        "incident.field",
        {"field": "impact", "old": 3, "new": 1, "reason": "x", "priority": 5},
    )
    # a "breach" escalation although no clock was breached
    _forge(
        case,
        bob,
        "incident.escalated",
        {
            "kind": "hierarchical",
            "team": "management",
            "trigger": "breach",
            "clock": "respond",
            "reason": "x",
        },
        recorded="2026-05-04T06:10:00.000000Z",  # office opened 06:00Z: 10 of 30 min used
    )
    codes = [p.code for p in verify(case.root).problems]
    assert codes == ["lifecycle-field", "lifecycle-priority", "lifecycle-escalation"]


def test_breach_triggered_escalation(tmp_path: Path, alice: Signer, bob: Signer) -> None:
    toml = 'preset = "itil3"\n[calendars.business]\nalways = true\n'
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"), toml)
    clock.now = z("2026-05-04T00:59:59")
    assert actions.escalate_breaches(case, bob, clock=clock) == []
    clock.now = z("2026-05-04T01:00:01")  # P3 respond target 1 h: breached by 1 s
    made = actions.escalate_breaches(case, bob, clock=clock)
    assert [(e.body["trigger"], e.body["clock"]) for e in made] == [("breach", "respond")]
    assert actions.escalate_breaches(case, bob, clock=clock) == []  # once per clock
    actions.acknowledge(case, alice, made[0].seq, note="manager called", clock=clock)
    inc = lifecycle.fold(case.read_entries().entries)
    assert inc.escalations[0].acknowledged is not None
    assert verify(case.root).ok


def test_consent_links_followups_and_fields(tmp_path: Path, alice: Signer, bob: Signer) -> None:
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    grant = actions.consent_grant(
        case, bob, by="Ms Smith", scope="remote access to PC-12", method="phone", clock=clock
    )
    actions.consent_withdraw(
        case, bob, grant.seq, by="Ms Smith", method="phone", reason="changed her mind", clock=clock
    )
    with pytest.raises(InputError, match="no consent in force"):
        actions.consent_withdraw(case, bob, grant.seq, by="x", method="y", reason=None, clock=clock)
    actions.link(case, bob, "change", "RFC-42", reason="fix", change_type="emergency", clock=clock)
    actions.link(case, bob, "known-error", "KE-7", reason="x", workaround="reboot", clock=clock)
    with pytest.raises(InputError, match="change-type"):
        actions.link(case, bob, "change", "RFC-43", reason="x", clock=clock)
    actions.link(case, bob, "change", "RFC-42", reason="wrong one", remove=True, clock=clock)
    actions.set_field(case, bob, "assets", "pc-12, printer-3,pc-12", reason="x", clock=clock)
    actions.set_field(case, bob, "phase", "containment", reason="x", clock=clock)
    with pytest.raises(InputError, match="phase is one of"):
        actions.set_field(case, bob, "phase", "panic", reason="x", clock=clock)
    with pytest.raises(InputError, match="impact is a number"):
        actions.set_field(case, bob, "impact", "4", reason="x", clock=clock)
    sched = actions.followup_schedule(
        case, bob, due=z("2026-05-11T09:00:00"), note="call back", clock=clock
    )
    actions.followup_done(case, bob, sched.seq, note="all good", clock=clock)
    inc = lifecycle.fold(case.read_entries().entries)
    assert inc.consents[grant.seq]["withdrawn"]["reason"] == "changed her mind"
    assert list(inc.links) == [("known-error", "KE-7")]
    assert inc.fields["assets"] == ["pc-12", "printer-3"]
    assert inc.followups[sched.seq]["done"]["note"] == "all good"
    assert inc.problems == []
    assert verify(case.root).ok


def test_unconfigured_case_uses_the_frozen_default(case: Case, bob: Signer) -> None:
    clock = SetClock(z("2026-01-05T09:00:00"))  # a Monday; the case opened 2026-01-02 03:04Z
    actions.set_field(case, bob, "impact", "1", reason="all users", clock=clock)
    actions.set_field(case, bob, "urgency", "1", reason="now", clock=clock)
    inc = lifecycle.fold(case.read_entries().entries)
    assert inc.settings is None and inc.priority == 1
    r = readings(case, "2026-01-05T09:00:00")
    # P1 runs 24/7 in the default: respond 15 min from the opening, long breached
    assert r["respond"].status == "breached" and r["respond"].target == timedelta(minutes=15)
    assert verify(case.root).ok


def test_update_periods_cut_at_each_customer_update() -> None:
    a, b, c, d = (z(f"2026-05-04T0{h}:00:00") for h in (1, 2, 3, 4))
    mid = z("2026-05-04T01:30:00")
    gap = z("2026-05-04T02:30:00")
    periods = lifecycle._periods([(a, b), (c, None)], [mid, mid, gap, d])
    assert periods == [
        [(a, mid)],
        [],  # two updates at the same instant: an empty stretch between them
        [(mid, b)],
        [(c, d)],
        [(d, None)],
    ]


def test_a_damaged_body_is_skipped_by_the_fold_and_flagged_by_verify(
    tmp_path: Path, alice: Signer, bob: Signer
) -> None:
    case, _ = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    _forge(case, bob, "incident.state", {"new": "in_progress", "reason": "no old state"})
    read = case.read_entries()  # the one validating parse leaves the damaged entry out
    assert [message for _, message in read.problems] == [
        f"entry {len(read.entries)} (line {len(read.entries) + 1}) is malformed: "
        "incident.state body: old: Field required; run `irkit verify`"
    ]
    inc = lifecycle.fold(read.entries)
    assert inc.state == "new"
    assert not inc.problems
    assert not verify(case.root).ok


def test_a_state_change_checked_against_a_stale_fold_is_refused(
    tmp_path: Path, alice: Signer, bob: Signer
) -> None:
    """Two technicians at once: the second one's check is re-validated under the lock."""
    case, clock = open_incident(tmp_path / "c", alice, bob, z("2026-05-04T00:00:00"))
    stale = actions.current(case)  # Bob looked...
    actions.change_state(case, alice, "in_progress", reason="Alice took it", clock=clock)
    before = lines(case.root)
    with pytest.raises(InputError, match="changed meanwhile"):
        case.append(  # ...and Bob's move, checked against what he saw, must not land
            bob,
            "incident.state",
            {"old": "new", "new": "assigned", "reason": "mine"},
            clock=clock,
            after=stale.last_seq,
        )
    assert lines(case.root) == before
