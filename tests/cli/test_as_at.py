"""`case show --now T` and `case kpi --now T` read the case from the entries recorded up to T
only: a later resolution, or a pause that starts after T, does not leak in."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import format_utc
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.record.case import Case
from tests.conftest import FixedClock, Runner

T0 = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)


def _worked(case: Case, alice: Signer, bob: Signer) -> FixedClock:
    """In progress from day 1; pending from day 4; resolved on day 7 (one day apart each)."""
    ck = FixedClock(T0, step=86400)
    actions.configure(case, alice, preset("itil3"), reason="desk", clock=ck)  # day 0
    actions.set_field(case, alice, "impact", "2", reason="x", clock=ck)  # day 1
    actions.set_field(case, alice, "urgency", "2", reason="x", clock=ck)  # day 2
    actions.change_state(case, bob, "in_progress", reason="on it", clock=ck)  # day 3
    actions.change_state(case, bob, "pending", reason="wait", waiting_for="customer", clock=ck)
    actions.change_state(case, bob, "in_progress", reason="back", clock=ck)  # day 5
    resolution = {"code": "FIXED", "solution": "patched", "outcome": "true-positive"}
    actions.change_state(case, bob, "resolved", reason="done", resolution=resolution, clock=ck)
    return ck


def test_show_and_kpi_as_at_ignore_later_entries(
    irkit: Runner, case: Case, alice: Signer, bob: Signer
) -> None:
    _worked(case, alice, bob)
    entries = case.read_entries().entries
    assert any(e.body.get("new") == "resolved" for e in entries)
    before_pause = format_utc(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))  # day 3.5
    done = irkit("case", "show", "--now", before_pause, "--json", case=case.root)
    assert done.exit_code == 0, done.output
    view = json.loads(done.output)
    assert view["state"] == "in_progress" and view["pending_reason"] is None
    history = json.dumps(view)
    for e in entries:
        if e.recorded > before_pause:  # later entries are not in the dashboard
            assert e.recorded not in history, e.seq
    done = irkit("case", "kpi", "--now", before_pause, "--json", case=case.root)
    assert done.exit_code == 0, done.output
    kpi = json.loads(done.output)
    assert kpi["resolved"] == 0 and kpi["pending_total"] == 0 and kpi["mttr_business"] is None
    # read at the end, the same case is resolved and counts its day of pause
    end = format_utc(datetime(2026, 12, 31, 12, 0, tzinfo=UTC))
    done = irkit("case", "kpi", "--now", end, "--json", case=case.root)
    kpi = json.loads(done.output)
    assert kpi["resolved"] == 1 and kpi["pending_total"] > 0
