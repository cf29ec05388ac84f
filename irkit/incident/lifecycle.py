"""The incident lifecycle as a help desk lives it, folded from signed journal entries.

Every change is its own `incident.*` entry (who and when come from the entry; old -> new and
why from the body). Nothing is stored as current state: `fold` replays the entries, and the
SLA clocks (`clocks`) are computed from the fold and an explicit `now` whenever they are read.

States: new -> assigned -> in_progress <-> pending(waiting_for) -> resolved -> closed, and a
reopen sends resolved or closed back to in_progress. `check_transition` is the one table used
both to refuse a command and to flag a forged entry in `irkit verify`.

Longer than ~500 lines: the bodies, the fold and the SLA clocks of one state machine;
the clocks (`clocks`, `pending_time`) are the part to move to incident/clocks.py, kept
here while the report's facts are being rewritten against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from irkit.formats.timefmt import parse_utc
from irkit.incident.settings import Settings, preset
from irkit.incident.sla import ClockReading, Interval, read_clock
from irkit.incident.vocab import (
    ChangeType,
    ClosureHow,
    ConsentAction,
    EscalationKind,
    EscalationTrigger,
    FieldName,
    FollowUpAction,
    LinkAction,
    LinkType,
    Outcome,
    State,
    WaitingFor,
)
from irkit.record.bodies import (
    NULL_IF_GIVEN,
    WHEN_USED,
    Body,
    Fingerprint,
    Label,
    RedactionSalt,
    SafeInt,
    SeqRef,
    ZonedTime,
)
from irkit.record.entry import Entry
from irkit.record.kindspec import Context, KindSpec
from irkit.record.summary import clip, shown_value

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]

# from-state -> states it may move to. A move from resolved/closed to in_progress is a reopen.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "in_progress", "resolved"}),
    "assigned": frozenset({"in_progress", "pending", "resolved"}),
    "in_progress": frozenset({"pending", "resolved"}),
    "pending": frozenset({"in_progress", "resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset({"in_progress"}),
}
OPEN_STATES = frozenset({"new", "assigned", "in_progress", "pending"})
IR_PHASES = ("identification", "containment", "eradication", "recovery", "lessons-learned")

FieldValue = Annotated[str, StringConstraints(min_length=1, max_length=4000)] | int | list[Label]


# -- entry bodies --------------------------------------------------------------------------


class Markable(Body):
    """Entries whose free text may name people or secrets: `confidential` (written only when
    true, so older entries stay byte-identical) makes shared reports withhold that text,
    showing a salted commitment instead (irkit/formats/redaction.py)."""

    confidential: Annotated[bool, WHEN_USED] = False
    salt: RedactionSalt | None = None


class IncidentConfigured(Body):
    settings: Settings
    reason: Label


class Resolution(Body):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    solution: Text
    outcome: Outcome
    impact: Text | None = None


class Closure(Body):
    how: ClosureHow
    confirmation: SeqRef | None = None  # seq of the incident.confirmed entry
    after_days: SafeInt | None = None  # auto-closure: days without an answer


class StateChanged(Markable):
    old: State
    new: State
    reason: Text
    waiting_for: WaitingFor | None = None  # required when new == "pending"
    resolution: Resolution | None = None  # required when new == "resolved"
    closure: Closure | None = None  # required when new == "closed"


class FieldChanged(Markable):
    field: FieldName
    old: FieldValue | None
    new: FieldValue | None
    reason: Text
    # derived priority after an impact/urgency change (null when the matrix gives none)
    priority: Annotated[SafeInt | None, NULL_IF_GIVEN] = None
    # assignee only: the member `new` names, or `external` (written only when true) when the
    # assignee is a team or someone outside the case
    assignee: Fingerprint | None = None
    external: Annotated[bool, WHEN_USED] = False


class Linked(Markable):
    link: LinkType
    ref: Label
    action: LinkAction = "add"
    change_type: ChangeType | None = None
    workaround: Text | None = None
    reason: Text


class Escalated(Markable):
    kind: EscalationKind
    tier: Annotated[int, Field(ge=1, le=9)] | None = None
    team: Label | None = None
    trigger: EscalationTrigger = "manual"
    clock: Label | None = None  # the breached clock when trigger == "breach"
    reason: Text
    # when `team` names a case member (`--to "Bob Example"`), their fingerprint
    member: Fingerprint | None = None


class Acknowledged(Body):
    escalation: SeqRef
    note: Text | None = None
    # why the member who raised the escalation acknowledges it themselves (else refused)
    self_ack: Text | None = None


class Consent(Markable):
    action: ConsentAction
    by: Label  # the customer's name as they gave it
    scope: Text  # what for: "remote access to laptop L-123", "share logs with vendor"
    method: Label  # how: phone, email, signed form...
    given_at: ZonedTime | None = None  # when the customer said so, if not now
    grant: SeqRef | None = None  # withdrawn: seq of the grant
    reason: Text | None = None


class Informed(Markable):
    channel: Label
    summary: Text


class Confirmed(Markable):
    by: Label
    channel: Label
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Text | None = None


class FollowUp(Markable):
    action: FollowUpAction
    due: ZonedTime | None = None
    schedule: SeqRef | None = None  # done: seq of the scheduled entry
    note: Text


_MODELS: dict[str, type[Body]] = {
    "incident.configured": IncidentConfigured,
    "incident.state": StateChanged,
    "incident.field": FieldChanged,
    "incident.linked": Linked,
    "incident.escalated": Escalated,
    "incident.acknowledged": Acknowledged,
    "incident.consent": Consent,
    "incident.informed": Informed,
    "incident.confirmed": Confirmed,
    "incident.followup": FollowUp,
}


# -- the fold ------------------------------------------------------------------------------


@dataclass
class Period:
    """A stretch of time in one state (end None: current)."""

    state: str
    start: datetime
    end: datetime | None
    waiting_for: str | None = None
    seq: int = 0


@dataclass
class EscalationInfo:
    seq: int
    at: datetime
    actor: str
    body: dict[str, Any]
    acknowledged: tuple[int, datetime, str] | None = None  # (seq, when, who)


@dataclass
class Incident:
    """Everything the journal says about the incident, folded in order."""

    opened: datetime | None = None
    state: str = "new"
    settings: Settings | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    secret_fields: set[str] = field(default_factory=set)  # last set with confidential: true
    field_salts: dict[str, str] = field(default_factory=dict)  # their entries' salts ("": none)
    periods: list[Period] = field(default_factory=list)
    history: list[Entry] = field(default_factory=list)  # every incident.* entry, in order
    links: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    escalations: list[EscalationInfo] = field(default_factory=list)
    consents: dict[int, dict[str, Any]] = field(default_factory=dict)  # grant seq -> body+
    informed: list[datetime] = field(default_factory=list)
    resolution: dict[str, Any] | None = None
    resolved_at: datetime | None = None
    first_response: datetime | None = None
    confirmation: tuple[int, dict[str, Any]] | None = None
    closure: dict[str, Any] | None = None
    followups: dict[int, dict[str, Any]] = field(default_factory=dict)
    reopens: int = 0
    ever_pending: bool = False
    last_seq: int = -1  # the last entry folded: commands append only after it
    # problems found while folding (seq, code, message): verify reports them
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def effective_settings(self) -> Settings:
        """The signed settings, else the frozen built-in default (itil3, UTC)."""
        return self.settings if self.settings is not None else preset("itil3")

    @property
    def priority(self) -> int | None:
        impact, urgency = self.fields.get("impact"), self.fields.get("urgency")
        settings = self.effective_settings
        if not isinstance(impact, int) or not isinstance(urgency, int):
            return None
        if not (1 <= impact <= settings.impact_levels and 1 <= urgency <= settings.urgency_levels):
            return None
        return settings.priority(impact, urgency)

    @property
    def pending_reason(self) -> str | None:
        if self.state == "pending" and self.periods:
            return self.periods[-1].waiting_for
        return None


def when(entry: Entry) -> datetime:
    """The entry's recorded instant (fromisoformat: ~10x faster than strptime on a fold)."""
    try:
        moment = datetime.fromisoformat(entry.recorded)
    except ValueError:
        return parse_utc(entry.recorded)  # raises with the usual message
    if moment.tzinfo is None:
        return parse_utc(entry.recorded)
    return moment


def check_transition(old: str, new: str, body: dict[str, Any], incident: Incident) -> str | None:
    """None when `old -> new` (with this body) is allowed now, else why not."""
    if old != incident.state:
        return f"the incident is {incident.state}, not {old}"
    if new not in TRANSITIONS.get(old, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(old, frozenset()))) or "nothing"
        return f"{old} -> {new} is not allowed (from {old}: {allowed})"
    if new == "pending" and not body.get("waiting_for"):
        return "pending needs a reason: waiting for customer, vendor, change or problem"
    if new == "resolved" and not (body.get("resolution") or {}).get("code"):
        return "resolving needs a resolution code"
    if new == "closed":
        if incident.resolution is None or not incident.resolution.get("code"):
            return "closure without a resolution code"
        closure = body.get("closure") or {}
        if closure.get("how") == "confirmed":
            conf = closure.get("confirmation")
            if incident.confirmation is None or incident.confirmation[0] != conf:
                return "closure cites a customer confirmation that is not on record"
        elif closure.get("how") == "auto":
            if incident.confirmation is not None:
                return "auto-closure although the customer confirmed (close as confirmed)"
        else:
            return "closure must say how: confirmed by the customer or auto after N days"
    return None


def as_at(entries: Sequence[Entry], now: datetime) -> list[Entry]:
    """The entries recorded up to `now`: a state, clock or KPI read "as at" a time must not
    see what was written later (a resolution, a pause that starts after it)."""
    out = []
    for e in entries:
        try:
            later = when(e) > now
        except ValueError:
            later = False  # a damaged time: fold reports it
        if not later:
            out.append(e)
    return out


def fold(entries: Sequence[Entry]) -> Incident:
    inc = Incident()
    for entry in entries:
        apply(inc, entry)
    return inc


def apply(inc: Incident, entry: Entry) -> None:
    """Fold one entry into the incident, noting (not raising) anything inconsistent."""
    kind, body, seq = entry.kind, entry.body, entry.seq
    inc.last_seq = seq
    if kind != "case.opened" and not kind.startswith("incident."):
        return

    def problem(code: str, message: str) -> None:
        inc.problems.append((seq, code, message))

    try:
        at = when(entry)
        model = _MODELS.get(kind)
        if model is not None:
            model.model_validate(body)
        elif kind != "case.opened":
            raise ValueError(f"unknown kind {kind}")
    except ValueError as exc:  # a read without verification may meet a damaged entry
        problem("lifecycle-body", f"{kind} entry is damaged; skipped ({exc})")
        return
    if kind == "case.opened":
        inc.opened = at
        inc.periods.append(Period("new", at, None, seq=seq))
        return
    inc.history.append(entry)

    if kind == "incident.configured":
        try:
            inc.settings = Settings.model_validate(body["settings"])
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            problem("lifecycle-settings", f"settings do not validate: {exc}")
    elif kind == "incident.state":
        old, new = body["old"], body["new"]
        why = check_transition(old, new, body, inc)
        if why is not None:
            problem("lifecycle-transition", why)
        if new == "resolved":
            inc.resolution = body.get("resolution")
            if inc.resolution is not None and body.get("confidential"):
                inc.resolution = dict(inc.resolution, confidential=True, salt=body.get("salt"))
            inc.resolved_at = at
        if new == "closed":
            inc.closure = body.get("closure")
            _check_auto_close(inc, body, at, problem)
        if inc.state in ("resolved", "closed") and new == "in_progress":
            inc.reopens += 1
            inc.resolution, inc.resolved_at, inc.confirmation, inc.closure = None, None, None, None
        if inc.state == "new" and new != "new" and inc.first_response is None:
            inc.first_response = at
        if new == "pending":
            inc.ever_pending = True
        if inc.periods:
            inc.periods[-1].end = at
        inc.periods.append(Period(new, at, None, body.get("waiting_for"), seq))
        inc.state = new
    elif kind == "incident.field":
        name = body["field"]
        current = inc.fields.get(name)
        if body["old"] != current:
            problem(
                "lifecycle-field", f"{name}: entry says old value {body['old']!r}, was {current!r}"
            )
        inc.fields[name] = body["new"]
        if body.get("confidential"):
            inc.secret_fields.add(name)
            inc.field_salts[name] = str(body.get("salt") or "")
        else:
            inc.secret_fields.discard(name)
            inc.field_salts.pop(name, None)
        if name in ("impact", "urgency") and body.get("priority") != inc.priority:
            problem(
                "lifecycle-priority",
                f"recorded priority {body.get('priority')} but the matrix gives {inc.priority}",
            )
    elif kind == "incident.linked":
        key = (body["link"], body["ref"])
        if body.get("action", "add") == "add":
            inc.links[key] = dict(body, seq=seq)
        elif inc.links.pop(key, None) is None:
            problem("lifecycle-link", f"removes link {key[0]} {key[1]} that does not exist")
    elif kind == "incident.escalated":
        if body.get("tier") is None and body.get("team") is None:
            problem("lifecycle-escalation", "escalation names neither a tier nor a team")
        if body.get("trigger") == "breach":
            readings = {r.name: r for r in clocks(inc, at).customer}
            hit = readings.get(str(body.get("clock")))
            if hit is None or not hit.breached:
                problem(
                    "lifecycle-escalation",
                    f"breach-triggered escalation but clock {body.get('clock')!r} was not "
                    "breached at that time",
                )
        inc.escalations.append(EscalationInfo(seq, at, entry.actor, body))
    elif kind == "incident.acknowledged":
        target = next((e for e in inc.escalations if e.seq == body["escalation"]), None)
        if target is None:
            problem("lifecycle-ack", f"acknowledges #{body['escalation']}: no such escalation")
        elif target.acknowledged is not None:
            problem("lifecycle-ack", f"escalation #{target.seq} was already acknowledged")
        else:
            target.acknowledged = (seq, at, entry.actor)
    elif kind == "incident.consent":
        if body["action"] == "granted":
            inc.consents[seq] = dict(body, seq=seq, at=entry.recorded, withdrawn=None)
        else:
            grant = inc.consents.get(body.get("grant") or -1)
            if grant is None or grant["withdrawn"] is not None:
                problem("lifecycle-consent", "withdraws a consent that is not in force")
            else:
                grant["withdrawn"] = dict(body, seq=seq, at=entry.recorded)
    elif kind == "incident.informed":
        inc.informed.append(at)
    elif kind == "incident.confirmed":
        if inc.state != "resolved":
            problem("lifecycle-confirm", f"customer confirmation while {inc.state}")
        inc.confirmation = (seq, body)
    elif kind == "incident.followup":
        if body["action"] == "scheduled":
            inc.followups[seq] = dict(body, seq=seq, done=None)
        else:
            sched = inc.followups.get(body.get("schedule") or -1)
            if sched is None or sched["done"] is not None:
                problem("lifecycle-followup", "marks done a follow-up that is not open")
            else:
                sched["done"] = dict(body, seq=seq, at=entry.recorded)


def _check_auto_close(inc: Incident, body: dict[str, Any], at: datetime, problem: Any) -> None:
    closure = body.get("closure") or {}
    if closure.get("how") != "auto" or inc.resolved_at is None:
        return
    days = closure.get("after_days") or 0
    need = inc.effective_settings.auto_close_days
    if days < need or at - inc.resolved_at < timedelta(days=days):
        problem(
            "lifecycle-closure",
            f"auto-closure {at - inc.resolved_at} after resolution; the settings ask for "
            f"{need} days without an answer",
        )


def verify_rule(entry: Entry, ctx: Context) -> None:
    """`irkit verify` hook: fold incident entries in order and report what the fold flags."""
    inc = ctx.state.get("lifecycle")
    if inc is None:
        inc = Incident()
        opening = ctx.seen.get(0)
        if opening is not None and opening.kind == "case.opened":
            apply(inc, opening)
        ctx.state["lifecycle"] = inc
    before = len(inc.problems)
    apply(inc, entry)
    for seq, code, message in inc.problems[before:]:
        ctx.problem(seq, code, message)


# -- clocks --------------------------------------------------------------------------------


def _running(inc: Incident, settings: Settings, since: datetime | None = None) -> list[Interval]:
    """Intervals when the resolve clock ticks: open states, minus pausing pending periods."""
    out: list[Interval] = []
    pausing = set(settings.pause_reasons)
    for p in inc.periods:
        ticking = p.state in OPEN_STATES and not (p.state == "pending" and p.waiting_for in pausing)
        if not ticking:
            continue
        start, end = p.start, p.end
        if since is not None:
            if end is not None and end <= since:
                continue
            start = max(start, since)
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)  # merge adjacent running stretches
        else:
            out.append((start, end))
    return out


def _periods(intervals: list[Interval], cuts: Sequence[datetime]) -> list[list[Interval]]:
    """Cut running intervals at each instant of `cuts` (in order): one list per stretch.

    One pass over both lists, so a long incident with many customer updates stays linear.
    """
    out: list[list[Interval]] = [[]]
    pending = list(intervals)
    i = 0
    for cut in cuts:
        while i < len(pending):
            start, end = pending[i]
            if end is not None and end <= cut:
                out[-1].append((start, end))
                i += 1
            elif start >= cut:
                break
            else:
                out[-1].append((start, cut))
                pending[i] = (cut, end)
                break
        out.append([])
    out[-1].extend(pending[i:])
    return out


@dataclass(frozen=True)
class Clocks:
    customer: list[ClockReading]  # respond, resolve, update (the current period)
    internal: list[ClockReading]  # per escalation with a tier target
    missed_updates: int  # update periods that ran over


def clocks(inc: Incident, now: datetime) -> Clocks:
    """Every SLA clock at `now` (pure: the same fold and `now` give the same readings)."""
    settings = inc.effective_settings
    prio = inc.priority
    if inc.opened is None or prio is None:
        return Clocks([], [], 0)
    target = settings.priorities[str(prio)]
    cal = settings.calendar(target.calendar)
    warn = settings.warn_permille
    sec = timedelta(seconds=1)
    respond_end = inc.first_response
    respond = read_clock(
        "respond",
        cal,
        target.respond * sec,
        [(inc.opened, respond_end)],
        now,
        stopped=respond_end,
        warn_permille=warn,
    )
    running = _running(inc, settings)
    done = inc.resolved_at if inc.state in ("resolved", "closed") else None
    resolve = read_clock(
        "resolve", cal, target.resolve * sec, running, now, stopped=done, warn_permille=warn
    )
    # Update cadence: the resolve clock's running time, restarted at each customer update.
    periods = _periods(running, inc.informed)
    missed = 0
    readings = []
    for part in periods:
        readings.append(
            read_clock("update", cal, target.update * sec, part, now, warn_permille=warn)
        )
        missed += readings[-1].breached
    update = readings[-1]
    if done is not None:
        update = read_clock(
            "update", cal, target.update * sec, periods[-1], now, stopped=done, warn_permille=warn
        )
    internal: list[ClockReading] = []
    first_line = settings.tiers.get("1")
    if first_line is not None:
        # the desk's own (internal) targets from the first call, beside the customer's
        fcal = settings.calendar(first_line.calendar)
        internal.append(
            read_clock(
                "tier 1 acknowledge",
                fcal,
                first_line.acknowledge * sec,
                [(inc.opened, respond_end)],
                now,
                stopped=respond_end,
                warn_permille=warn,
            )
        )
        internal.append(
            read_clock(
                "tier 1 resolve",
                fcal,
                first_line.resolve * sec,
                _running(inc, settings),
                now,
                stopped=done,
                warn_permille=warn,
            )
        )
    for esc in inc.escalations:
        tier = esc.body.get("tier")
        tier_target = settings.tiers.get(str(tier)) if tier is not None else None
        if tier_target is None:
            continue
        tcal = settings.calendar(tier_target.calendar)
        # an escalation left unacknowledged stops counting once the incident is resolved
        ack = esc.acknowledged[1] if esc.acknowledged else done
        internal.append(
            read_clock(
                f"tier {tier} acknowledge (#{esc.seq})",
                tcal,
                tier_target.acknowledge * sec,
                [(esc.at, ack)],
                now,
                stopped=ack,
                warn_permille=warn,
            )
        )
        internal.append(
            read_clock(
                f"tier {tier} resolve (#{esc.seq})",
                tcal,
                tier_target.resolve * sec,
                _running(inc, settings, since=esc.at),
                now,
                stopped=done,
                warn_permille=warn,
            )
        )
    return Clocks([respond, resolve, update], internal, missed)


def pending_time(inc: Incident, now: datetime) -> timedelta:
    """Wall-clock time spent pending (any reason), up to `now`."""
    total = timedelta(0)
    for p in inc.periods:
        if p.state == "pending":
            total += (p.end or now) - p.start
    return total


# -- the kinds ---------------------------------------------------------------------------


def incident_summary(e: Entry) -> str:
    """old -> new and why, for the help-desk entries."""
    kind, b = e.kind, e.body
    why = clip(str(b.get("reason") or ""), 40)
    match kind.removeprefix("incident."):
        case "configured":
            settings = b.get("settings")
            name = settings.get("preset") if isinstance(settings, dict) else "?"
            return f"settings ({name}): {why}"
        case "state":
            wait = f" (waiting for {b['waiting_for']})" if b.get("waiting_for") else ""
            res = b.get("resolution")
            code = f" [{res.get('code')}]" if isinstance(res, dict) else ""
            clo = b.get("closure")
            how = f" [{clo.get('how')}]" if isinstance(clo, dict) else ""
            return f"state {b.get('old')} -> {b.get('new')}{wait}{code}{how}: {why}"
        case "field":
            prio = f" => priority {b['priority']}" if b.get("priority") is not None else ""
            new = shown_value(b.get("new"))
            if b.get("assignee"):
                new += f" [{str(b['assignee'])[:24]}]"
            elif b.get("external"):
                new += " (not a case member)"
            return f"{b.get('field')}: {shown_value(b.get('old'))} -> {new}{prio}: {why}"
        case "linked":
            return f"{b.get('action', 'add')} {b.get('link')} link {b.get('ref')}: {why}"
        case "escalated":
            where = f"tier {b['tier']}" if b.get("tier") is not None else ""
            where += f" {b['team']}" if b.get("team") else ""
            return f"{b.get('kind')} escalation to {where.strip()} ({b.get('trigger')}): {why}"
        case "acknowledged":
            own = f" (their own: {clip(str(b['self_ack']), 40)})" if b.get("self_ack") else ""
            return f"acknowledges escalation #{b.get('escalation')}{own}"
        case "consent":
            return f"consent {b.get('action')} by {b.get('by')} for {clip(str(b.get('scope')), 40)}"
        case "informed":
            return f"customer informed ({b.get('channel')}): {clip(str(b.get('summary')), 40)}"
        case "confirmed":
            score = f" satisfaction {b['satisfaction']}/5" if b.get("satisfaction") else ""
            return f"confirmed by {b.get('by')} ({b.get('channel')}){score}"
        case "followup":
            return f"follow-up {b.get('action')}: {clip(str(b.get('note')), 40)}"
    return ""


KIND_SPECS = (
    KindSpec("incident.configured", IncidentConfigured, verify_rule, incident_summary),
    KindSpec("incident.state", StateChanged, verify_rule, incident_summary),
    KindSpec("incident.field", FieldChanged, verify_rule, incident_summary),
    KindSpec("incident.linked", Linked, verify_rule, incident_summary),
    KindSpec("incident.escalated", Escalated, verify_rule, incident_summary),
    KindSpec("incident.acknowledged", Acknowledged, verify_rule, incident_summary),
    KindSpec("incident.consent", Consent, verify_rule, incident_summary),
    KindSpec("incident.informed", Informed, verify_rule, incident_summary),
    KindSpec("incident.confirmed", Confirmed, verify_rule, incident_summary),
    KindSpec("incident.followup", FollowUp, verify_rule, incident_summary),
)
