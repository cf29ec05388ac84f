"""The demo's help-desk act: the incident worked from assignment to the customer's "thanks".

Runs inside `irkit demo` (DEMO_STEPS) after the notes: Bob witnesses Alice's first note, the
case gets settings, priority, an assignee, waits on the customer, is escalated and
acknowledged, resolved, confirmed by the customer and closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irkit.demo.story import story
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.notes.notes import witness_note

if TYPE_CHECKING:
    from irkit.demo.story import DemoContext


def demo_step(ctx: DemoContext) -> None:
    case, clock = ctx.case, ctx.clock
    alice, bob = ctx.signers["alice"], ctx.signers["bob"]
    first_note = next(
        e
        for e in case.read_entries().entries
        if e.kind == "note.added" and "demo" not in e.body.get("tags", [])
    )
    story(ctx, 0, 12, 10)  # Monday, Europe/Berlin: the desk takes the ticket late
    witness_note(
        case,
        bob,
        first_note.seq,
        statement="I was on the call; the note is accurate.",
        clock=clock,
    )
    actions.configure(
        case, alice, preset("itil3", "Europe/Berlin"), reason="service desk SLA", clock=clock
    )
    actions.set_field(case, alice, "impact", "2", reason="one web server", clock=clock)
    actions.set_field(case, alice, "urgency", "1", reason="public site at risk", clock=clock)
    actions.set_field(case, alice, "assets", "web-01", reason="reported host", clock=clock)
    actions.set_field(
        case, alice, "owner", "Service desk", reason="first line keeps it", clock=clock
    )
    actions.set_field(case, alice, "assignee", "Bob", reason="on site", clock=clock)
    story(ctx, 0, 12, 30)  # first response 3 h 25 min after opening: the 30 min target missed
    actions.change_state(case, bob, "in_progress", reason="investigating on site", clock=clock)
    actions.set_field(case, bob, "phase", "containment", reason="crontab entry found", clock=clock)
    actions.consent_grant(
        case, bob, by="Web team lead", scope="copy logs from web-01", method="phone", clock=clock
    )
    story(ctx, 0, 14, 0)
    actions.change_state(
        case,
        bob,
        "pending",
        waiting_for="customer",
        reason="web team to confirm the deploy window",
        clock=clock,
    )
    story(ctx, 0, 14, 20)
    actions.inform(
        case, bob, channel="phone", summary="told them we wait for the deploy window", clock=clock
    )
    story(ctx, 1, 9, 40)  # Tuesday morning: the pause ends
    actions.change_state(case, bob, "in_progress", reason="deploy window confirmed", clock=clock)
    story(ctx, 1, 10, 15)
    esc = actions.escalate(
        case,
        bob,
        kind="functional",
        tier=2,
        reason="needs the Linux team to rebuild cron",
        clock=clock,
    )
    story(ctx, 1, 10, 40)
    actions.acknowledge(case, alice, esc.seq, note="Linux team on it", clock=clock)
    story(ctx, 1, 16, 30)  # resolved after more than 8 office hours: the resolve target missed
    actions.change_state(
        case,
        bob,
        "resolved",
        reason="fixed",
        resolution={
            "code": "MALWARE-REMOVED",
            "solution": "removed the cron entry, rotated the deploy key",
            "outcome": "true-positive",
            "impact": "no customer data affected",
        },
        clock=clock,
    )
    story(ctx, 2, 9, 50)  # Wednesday: the customer confirms
    actions.confirm(
        case,
        alice,
        by="Web team lead",
        channel="phone",
        satisfaction=4,
        comment="works again",
        clock=clock,
    )
    story(ctx, 2, 10, 0)
    actions.close(case, alice, auto=False, reason="customer confirmed", clock=clock)
    ctx.steps.append(
        "help desk: Bob witnessed a note; the incident got settings, priority P2, an owner, "
        "was assigned, waited on the customer, escalated to tier 2, resolved, confirmed and "
        "closed (`irkit case show`)"
    )
