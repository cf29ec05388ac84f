"""Help-desk actions on a case: check against the folded incident, then append one entry.

Each action refuses (InputError, nothing written) what `irkit verify` would flag, using the
same checks as the fold (`lifecycle.check_transition`). Settings are a lead's business
(`configure`); until a lead signs some, clocks use the frozen built-in itil3 preset in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, format_zoned, system_clock
from irkit.incident import lifecycle, vocab
from irkit.incident.lifecycle import Incident
from irkit.incident.settings import Settings
from irkit.record.case import Case, Rebase
from irkit.record.entry import Entry
from irkit.record.kinds import body_of


def current(case: Case) -> Incident:
    return lifecycle.fold(case.read_entries().entries)


def _append(
    case: Case, signer: Signer, kind: str, body: dict[str, Any], inc: Incident, clock: Clock
) -> Entry:
    """Append an action judged against `inc`: refused only if the incident changed since."""
    return case.append(
        signer, kind, body, clock=clock, after=inc.last_seq, rebase=_unless_incident_changed(body)
    )


def _unless_incident_changed(body: dict[str, Any]) -> Rebase:
    """The action was judged against the incident as folded; entries of other kinds (a note,
    a collection) appended meanwhile do not change that judgement, an `incident.*` one may."""

    def rebase(since: list[Entry]) -> dict[str, Any]:
        for entry in since:
            if entry.kind.startswith("incident."):
                raise InputError(
                    f"the incident changed meanwhile (entry {entry.seq}, {entry.kind}); "
                    "nothing was written: look again (`irkit case show`) and repeat the command"
                )
        return body

    return rebase


def _need(text: str | None, what: str) -> str:
    if text is None or not text.strip():
        raise InputError(f"{what} is required")
    return text.strip()


def configure(
    case: Case, signer: Signer, settings: Settings, *, reason: str, clock: Clock = system_clock
) -> Entry:
    body = body_of("incident.configured", settings=settings, reason=_need(reason, "a reason"))
    return case.append(signer, "incident.configured", body, clock=clock)


def change_state(
    case: Case,
    signer: Signer,
    new: str,
    *,
    reason: str,
    waiting_for: str | None = None,
    resolution: dict[str, Any] | None = None,
    closure: dict[str, Any] | None = None,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    case.check_signer(signer, "incident.state")
    inc = current(case)
    if waiting_for is not None and new != "pending":
        raise InputError("--waiting-for only goes with pending")
    fields: dict[str, Any] = {
        "old": inc.state,
        "new": new,
        "reason": _need(reason, "a reason"),
        "waiting_for": waiting_for,
        "resolution": resolution,
        "closure": closure,
    }
    why = lifecycle.check_transition(inc.state, new, fields, inc)  # its words before the model's
    if why is not None:
        raise InputError(f"refused: {why}; nothing was written")
    body = body_of("incident.state", **fields, confidential=confidential)
    return _append(case, signer, "incident.state", body, inc, clock)


def close(
    case: Case, signer: Signer, *, auto: bool, reason: str, clock: Clock = system_clock
) -> Entry:
    """Close a resolved incident: as confirmed by the customer, or automatically when the
    customer has not answered for the configured number of days since resolution."""
    inc = current(case)
    if inc.state != "resolved":
        raise InputError(f"refused: the incident is {inc.state}; resolve it first")
    settings = inc.effective_settings
    if auto:
        days = settings.auto_close_days
        waited = clock() - (inc.resolved_at or clock())
        if waited < timedelta(days=days):
            raise InputError(
                f"refused: auto-closure needs {days} days without an answer since resolution; "
                f"only {waited.days} days have passed"
            )
        closure: dict[str, Any] = {"how": "auto", "after_days": days}
    else:
        if inc.confirmation is None:
            raise InputError(
                "refused: no customer confirmation on record",
                hint="record it with `irkit case confirm --by NAME`, or close with --auto "
                "after the waiting period",
            )
        closure = {"how": "confirmed", "confirmation": inc.confirmation[0]}
    return change_state(case, signer, "closed", reason=reason, closure=closure, clock=clock)


def set_field(
    case: Case,
    signer: Signer,
    name: str,
    value: str,
    *,
    reason: str,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> list[Entry]:
    """Record one field change; assigning a new incident also moves it to assigned.

    An assignee who is a member is recorded with their fingerprint; anyone else (a team,
    an outsider) is recorded as not a member (`external`)."""
    if name not in vocab.FIELDS:
        raise InputError(f"unknown field {name!r} (one of: {', '.join(vocab.FIELDS)})")
    case.check_signer(signer, "incident.field")
    inc = current(case)
    settings = inc.effective_settings
    new: Any
    who: dict[str, Any] = {}
    if name in ("impact", "urgency"):
        levels = settings.impact_levels if name == "impact" else settings.urgency_levels
        try:
            new = int(value)
        except ValueError as exc:
            raise InputError(f"{name} is a number 1..{levels} (1 = highest)") from exc
        if not 1 <= new <= levels:
            raise InputError(f"{name} is a number 1..{levels} (1 = highest)")
    elif name == "assets":
        new = sorted({a.strip() for a in value.split(",") if a.strip()})
    elif name == "phase":
        if value not in lifecycle.IR_PHASES:
            raise InputError(f"phase is one of: {', '.join(lifecycle.IR_PHASES)}")
        new = value
    elif name == "assignee":
        new, who = _assignee(case, value)
    else:
        new = _need(value, name)
    old = inc.fields.get(name)
    if old == new:
        raise InputError(f"{name} is already {new!r}: nothing to record")
    if name in ("impact", "urgency"):
        inc.fields[name] = new
        who["priority"] = inc.priority  # written, as null too, when the matrix gives none
    body = body_of(
        "incident.field",
        field=name,
        old=old,
        new=new,
        reason=reason or "set",
        confidential=confidential,
        **who,
    )
    out = [_append(case, signer, "incident.field", body, inc, clock)]
    if name == "assignee" and inc.state == "new":
        out.append(change_state(case, signer, "assigned", reason=f"assigned to {new}", clock=clock))
    return out


def _assignee(case: Case, value: str) -> tuple[str, dict[str, Any]]:
    """(name to record, body fields) for an assignee: a member, resolved like every person
    (`Roster.resolve`) and recorded by fingerprint, else a team or outsider, which the
    entry then says (`external`). A name two members share is refused."""
    text = _need(value, "assignee")
    member = case.roster().find(text, what="assignee")
    if member is None:
        return text, {"external": True}
    return member.name, {"assignee": member.fingerprint}


def link(
    case: Case,
    signer: Signer,
    link_type: str,
    ref: str,
    *,
    reason: str,
    change_type: str | None = None,
    workaround: str | None = None,
    remove: bool = False,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    inc = current(case)
    if remove and (link_type, ref) not in inc.links:
        raise InputError(f"no {link_type} link to {ref} to remove")
    if link_type == "change" and not remove and change_type is None:
        raise InputError("a change link needs --change-type standard|normal|emergency")
    if link_type == "known-error" and not remove and not workaround:
        raise InputError("a known error needs its --workaround")
    body = body_of(
        "incident.linked",
        link=link_type,
        ref=_need(ref, "a reference"),
        action="remove" if remove else "add",
        reason=reason or ("unlinked" if remove else "linked"),
        change_type=change_type,
        workaround=workaround or None,
        confidential=confidential,
    )
    return _append(case, signer, "incident.linked", body, inc, clock)


def escalate(
    case: Case,
    signer: Signer,
    *,
    kind: str,
    reason: str,
    tier: int | None = None,
    team: str | None = None,
    trigger: str = "manual",
    clock_name: str | None = None,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    if tier is None and not team:
        raise InputError("say where to: --tier N or --to TEAM")
    case.check_signer(signer, "incident.escalated")
    inc = current(case)
    if inc.state not in lifecycle.OPEN_STATES:
        raise InputError(f"refused: the incident is {inc.state}; reopen it first")
    member = case.roster().find(team, what="--to") if team else None
    body = body_of(
        "incident.escalated",
        kind=kind,
        trigger=trigger,
        reason=_need(reason, "a reason"),
        tier=tier,
        team=member.name if member else team or None,
        member=member.fingerprint if member else None,
        clock=clock_name or None,
        confidential=confidential,
    )
    return _append(case, signer, "incident.escalated", body, inc, clock)


def escalate_breaches(
    case: Case, signer: Signer, *, team: str = "management", clock: Clock = system_clock
) -> list[Entry]:
    """One hierarchical escalation per breached customer clock not yet escalated."""
    inc = current(case)
    if inc.state not in lifecycle.OPEN_STATES:
        return []
    now = clock()

    def at_now() -> datetime:
        return now

    done = {e.body.get("clock") for e in inc.escalations if e.body.get("trigger") == "breach"}
    out = []
    for reading in lifecycle.clocks(inc, now).customer:
        if reading.breached and reading.status != "met" and reading.name not in done:
            out.append(
                escalate(
                    case,
                    signer,
                    kind="hierarchical",
                    team=team,
                    trigger="breach",
                    clock_name=reading.name,
                    reason=f"{reading.name} target breached",
                    clock=at_now,
                )
            )
    return out


def acknowledge(
    case: Case,
    signer: Signer,
    escalation: int,
    *,
    note: str | None,
    self_ack: str | None = None,
    clock: Clock = system_clock,
) -> Entry:
    """Take an escalation. Its raiser may not acknowledge it without saying why (`self_ack`):
    a hand-over nobody took must not read as taken."""
    inc = current(case)
    target = next((e for e in inc.escalations if e.seq == escalation), None)
    if target is None:
        raise InputError(f"entry {escalation} is not an escalation")
    if target.acknowledged is not None:
        raise InputError(f"escalation #{escalation} was acknowledged at #{target.acknowledged[0]}")
    if target.actor == signer.fingerprint and not self_ack:
        raise InputError(
            f"refused: you raised escalation #{escalation}; the side it was handed to "
            "acknowledges it",
            hint="acknowledging your own escalation? say why with --self-ack REASON",
        )
    if target.actor != signer.fingerprint and self_ack:
        raise InputError(f"--self-ack, but escalation #{escalation} was raised by someone else")
    body = body_of(
        "incident.acknowledged", escalation=escalation, note=note or None, self_ack=self_ack or None
    )
    return _append(case, signer, "incident.acknowledged", body, inc, clock)


def consent_grant(
    case: Case,
    signer: Signer,
    *,
    by: str,
    scope: str,
    method: str,
    given_at: datetime | None = None,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    body = body_of(
        "incident.consent",
        action="granted",
        by=_need(by, "who gave consent (--by)"),
        scope=_need(scope, "what the consent covers (--for)"),
        method=_need(method, "how it was given (--how)"),
        given_at=format_zoned(given_at) if given_at is not None else None,
        confidential=confidential,
    )
    return case.append(signer, "incident.consent", body, clock=clock)


def consent_withdraw(
    case: Case,
    signer: Signer,
    grant: int,
    *,
    by: str,
    method: str,
    reason: str | None,
    given_at: datetime | None = None,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    inc = current(case)
    held = inc.consents.get(grant)
    if held is None or held["withdrawn"] is not None:
        raise InputError(f"no consent in force was granted at entry {grant}")
    body = body_of(
        "incident.consent",
        action="withdrawn",
        by=_need(by, "who withdrew consent (--by)"),
        scope=held["scope"],
        method=_need(method, "how it was withdrawn (--how)"),
        grant=grant,
        reason=reason or None,
        given_at=format_zoned(given_at) if given_at is not None else None,
        confidential=confidential,
    )
    return _append(case, signer, "incident.consent", body, inc, clock)


def inform(
    case: Case,
    signer: Signer,
    *,
    channel: str,
    summary: str,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    body = body_of(
        "incident.informed",
        channel=_need(channel, "a channel"),
        summary=_need(summary, "a summary"),
        confidential=confidential,
    )
    return case.append(signer, "incident.informed", body, clock=clock)


def confirm(
    case: Case,
    signer: Signer,
    *,
    by: str,
    channel: str,
    satisfaction: int | None,
    comment: str | None,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    inc = current(case)
    if inc.state != "resolved":
        raise InputError(f"refused: the incident is {inc.state}; only a resolved one is confirmed")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise InputError("satisfaction is 1 (very unhappy) .. 5 (very happy)")
    body = body_of(
        "incident.confirmed",
        by=_need(by, "who confirmed (--by)"),
        channel=channel,
        satisfaction=satisfaction,
        comment=comment or None,
        confidential=confidential,
    )
    return _append(case, signer, "incident.confirmed", body, inc, clock)


def followup_schedule(
    case: Case,
    signer: Signer,
    *,
    due: datetime,
    note: str,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    body = body_of(
        "incident.followup",
        action="scheduled",
        due=format_zoned(due),
        note=_need(note, "a note"),
        confidential=confidential,
    )
    return case.append(signer, "incident.followup", body, clock=clock)


def followup_done(
    case: Case,
    signer: Signer,
    schedule: int,
    *,
    note: str,
    confidential: bool = False,
    clock: Clock = system_clock,
) -> Entry:
    inc = current(case)
    sched = inc.followups.get(schedule)
    if sched is None or sched["done"] is not None:
        raise InputError(f"no open follow-up was scheduled at entry {schedule}")
    body = body_of(
        "incident.followup",
        action="done",
        schedule=schedule,
        note=_need(note, "a note"),
        confidential=confidential,
    )
    return _append(case, signer, "incident.followup", body, inc, clock)
