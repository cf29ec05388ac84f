"""`irkit case`: the incident's life at the help desk (states, SLA clocks, escalation...).

Every writing command takes one path (`_writes`): its body checks its options and returns
the incident action to run; the path opens the case, loads your key, runs it and prints
the entries (or their JSON).

Longer than ~500 lines: sixteen small commands of one group, each a few lines on the
shared `_writes` path; one module per group is the CLI's rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    case_value,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
)
from irkit.errors import InputError
from irkit.incident.vocab import (
    CHANGE_TYPES,
    ESCALATION_KINDS,
    FIELDS,
    LINK_TYPES,
    OUTCOMES,
    PRESETS,
    STATES,
    WAITING_FOR,
)

if TYPE_CHECKING:
    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case
    from irkit.record.entry import Entry

F = TypeVar("F", bound=Callable[..., Any])

# What a writing command's body returns: the action, run once the case and key are open.
Act = Callable[["Case", "Signer"], "Entry | list[Entry]"]

# every state but `new` (where a case starts), and `in-progress` as typed by hand
_STATE_NAMES = [
    n for s in STATES if s != "new" for n in (["in-progress", s] if s == "in_progress" else [s])
]


def _writer(func: F) -> F:
    """The options every writing command shares: the case, your key, --json."""
    return case_option(key_options(json_option(func)))


def _writes(empty: str = "") -> Callable[[Callable[..., Act]], Callable[..., None]]:
    """Make a command body (its own options -> an Act) a writing command: add the case, key
    and --json options; check the options first, then open the case, load the key, run the
    action and print `#seq kind: summary` per entry (or the entries' JSON, always a list).
    `empty` is said when the action recorded nothing."""

    def wrap(body: Callable[..., Act]) -> Callable[..., None]:
        @functools.wraps(body)
        def command(
            *,
            case_dir: Path | None,
            key_path: Path | None,
            passphrase_file: Path | None,
            as_json: bool,
            **options: Any,
        ) -> None:
            act = body(**options)
            case = open_case(case_dir)
            made = act(case, load_signer(key_path, passphrase_file))
            entries = made if isinstance(made, list) else [made]
            if as_json:
                print_json([e.to_json() for e in entries])
                return
            _warn_external(case, entries)
            if not entries and empty:
                echo(empty)
            from irkit.record.summary import summarize

            for e in entries:
                echo(f"#{e.seq} {e.kind}: {summarize(e)}")

        return _writer(command)

    return wrap


def _warn_external(case: Case, entries: list[Entry]) -> None:
    """Say so when an assignee matched no member: a typo reads the same as an outsider."""
    from irkit._cli._common import warn
    from irkit.record.roster import describe

    body = entries[0].body if entries else {}
    if body.get("field") == "assignee" and body.get("external"):
        active = [m for m in case.roster().members.values() if m.active]
        warn(
            f"{body['new']!r} is not a member of this case: recorded as outside the case "
            f"(members: {describe(active)})"
        )


_confidential = click.option(
    "--confidential",
    is_flag=True,
    help="Its text names people or secrets: shared (--redact) reports show only its digest.",
)


def _past(value: str) -> datetime:
    """When something already happened (consent given, withdrawn): ahead of now is a slip."""
    from irkit.formats.timefmt import check_past

    return check_past(_now(value), value, what="--at", override=None)


def _now(value: str | None) -> datetime:
    from datetime import UTC

    from irkit.formats.timefmt import parse_user_time

    return parse_user_time(value) if value else datetime.now(UTC)


@click.group("case", cls=IrkitGroup)
def case_group() -> None:
    """Work the incident like a help-desk ticket: every step is a signed entry.

    \b
    On the phone? The usual run:
      irkit case show                               where are we, what is due
      irkit case assign "Bob"                       take it / hand it to someone
      irkit case status in-progress --reason "..."  start working
      irkit case status pending --waiting-for customer --reason "sends logs"
                                                    clock stops while you wait on them
      irkit case inform --channel phone "told them the status"
      irkit case escalate --tier 2 --reason "needs AD admin"
      irkit case resolve --code CONFIG --outcome true-positive --solution "..."
      irkit case confirm --by "Ms Smith" --satisfaction 5
      irkit case close

    Clocks are worked out from the journal each time you look, in the case's business
    hours (set with `irkit case configure`); nothing is stored that could drift.
    """


@case_group.command("show", short_help="Dashboard: state, priority, every clock, deadlines.")
@click.option(
    "--now", "now_text", help="Show the clocks as at this time, 1970..9998 UTC (default: now)."
)
@case_option
@json_option
def show_cmd(now_text: str | None, case_dir: Path | None, as_json: bool) -> None:
    """Dashboard: state, priority, owner, every SLA clock and deadline, escalations,
    consent, resolution, and the full lifecycle history."""
    from irkit._cli import caseview
    from irkit.incident import lifecycle
    from irkit.incident.dashboard import dashboard
    from irkit.record.summary import names_from

    case = open_case(case_dir)
    now = _now(now_text)
    # as at means as at: nothing recorded after `now` counts
    entries = lifecycle.as_at(case.read_entries().entries, now)
    inc = lifecycle.fold(entries)
    view = dashboard(case.info, inc, lifecycle.clocks(inc, now), now, names_from(entries))
    if as_json:
        print_json(view)
        return
    for line in caseview.render(view):
        echo(line)


@case_group.command("configure", short_help="Set priority matrix, SLA targets, hours (leads).")
@click.option("--preset", type=click.Choice(PRESETS), help="Built-in settings.")
@click.option(
    "--file",
    "settings_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings in TOML (matrix, targets, calendars, holidays); see docs/FORMAT.md.",
)
@click.option("--tz", "zone", help="Time zone of the calendars, e.g. Europe/Berlin.")
@click.option("--reason", required=True, help="Why the settings change.")
@_writes()
def configure_cmd(
    preset: str | None, settings_file: Path | None, zone: str | None, reason: str
) -> Act:
    """Set the priority matrix, SLA targets and business calendar (case leads only).

    The whole settings document is signed into the journal; clocks use the latest one.
    """
    from irkit.incident import actions, settings

    if preset and settings_file:
        raise InputError("give --preset or --file, not both")
    if settings_file is not None:
        from irkit.record.safefile import read_input_text

        text = read_input_text(settings_file, what="settings file")
        chosen = settings.settings_from_toml(text, zone)
    else:
        chosen = settings.preset(preset or "itil3", zone or "UTC")
    return lambda case, signer: actions.configure(case, signer, chosen, reason=reason)


@case_group.command("status", short_help="Move to assigned, in-progress or pending.")
@click.argument("state", type=click.Choice(_STATE_NAMES))
@click.option(
    "--waiting-for",
    type=click.Choice(WAITING_FOR),
    help="With pending: whom you wait for (customer/vendor stop the SLA clock).",
)
@click.option("--reason", default="", help="Why (said to the customer or the next shift).")
@_confidential
@_writes()
def status_cmd(state: str, waiting_for: str | None, reason: str, confidential: bool) -> Act:
    """Move the incident to STATE: assigned, in-progress, pending (needs --waiting-for).

    Resolving, closing and reopening have their own commands: `case resolve`, `case close`,
    `case reopen`. Moves the state machine forbids (e.g. closed -> pending) are refused.
    """
    from irkit.incident import actions

    state = state.replace("-", "_")
    if state == "resolved":
        raise InputError("use `irkit case resolve --code ... --solution ... --outcome ...`")
    if state == "closed":
        raise InputError("use `irkit case close` (after the customer confirms)")
    if state == "pending" and waiting_for is None:
        raise InputError("pending needs --waiting-for customer|vendor|change|problem")
    why = reason or (f"waiting for {waiting_for}" if waiting_for else f"now {state}")
    return lambda case, signer: actions.change_state(
        case, signer, state, reason=why, waiting_for=waiting_for, confidential=confidential
    )


@case_group.command("assign", short_help="Give the incident to someone (new -> assigned).")
@click.argument("who")
@click.option("--reason", default="", help="Why this person.")
@_writes()
def assign_cmd(who: str, reason: str) -> Act:
    """Give the incident to WHO: a member (exact name, fingerprint prefix of 8+ hex digits,
    or fingerprint), recorded with their fingerprint, or a team or outsider, recorded as
    not a member. A new incident becomes `assigned`."""
    from irkit.incident import actions

    return lambda case, signer: actions.set_field(
        case, signer, "assignee", who, reason=reason or "assigned"
    )


@case_group.command("set", short_help="Record impact, urgency, severity, category, assets...")
@click.argument(
    "field",
    type=click.Choice(FIELDS),
)
@click.argument("value")
@click.option("--reason", default="", help="Why it changes.")
@_confidential
@_writes()
def set_cmd(field: str, value: str, reason: str, confidential: bool) -> Act:
    """Record a field: impact/urgency (1 = highest; they give the priority), severity,
    category, assets (comma-separated), assignee, owner (the desk keeps ownership when
    escalating), phase (identification, containment, eradication, recovery,
    lessons-learned), root-cause and lessons-learned (free text the report shows)."""
    from irkit.incident import actions

    return lambda case, signer: actions.set_field(
        case, signer, field, value, reason=reason, confidential=confidential
    )


@case_group.command("link", short_help="Link related incident, problem, change, known error.")
@click.argument("link_type", type=click.Choice(LINK_TYPES))
@click.argument("ref")
@click.option("--change-type", type=click.Choice(CHANGE_TYPES), help="For change.")
@click.option("--workaround", help="For known-error: what the customer can do meanwhile.")
@click.option("--remove", is_flag=True, help="Remove the link instead.")
@click.option("--reason", default="", help="Why.")
@_confidential
@_writes()
def link_cmd(
    link_type: str,
    ref: str,
    change_type: str | None,
    workaround: str | None,
    remove: bool,
    reason: str,
    confidential: bool,
) -> Act:
    """Link a related incident, a problem record, a change (RFC) or a known error."""
    from irkit.incident import actions

    return lambda case, signer: actions.link(
        case,
        signer,
        link_type,
        ref,
        reason=reason,
        change_type=change_type,
        workaround=workaround,
        remove=remove,
        confidential=confidential,
    )


@case_group.command("escalate", short_help="Hand up: to a tier/team, or to management.")
@click.option("--tier", type=click.IntRange(1, 9), help="Support tier to hand over to.")
@click.option(
    "--to",
    "team",
    help="Team (e.g. network, management) or a member (name, fingerprint prefix), who is "
    "then recorded by fingerprint.",
)
@click.option(
    "--kind",
    type=click.Choice(ESCALATION_KINDS),
    default="functional",
    show_default=True,
    help="functional: to expertise; hierarchical: to management.",
)
@click.option("--reason", default="", help="Why (required unless --breached).")
@click.option(
    "--breached",
    is_flag=True,
    help="Escalate every breached SLA clock not yet escalated (for cron/monitoring).",
)
@_confidential
@_writes(empty="no breached clock left to escalate")
def escalate_cmd(
    tier: int | None, team: str | None, kind: str, reason: str, breached: bool, confidential: bool
) -> Act:
    """Hand the incident up: to a tier/team (functional) or to management (hierarchical).

    You keep ownership; the receiving side acknowledges with `irkit case ack SEQ`.
    """
    from irkit.incident import actions

    if breached:
        return lambda case, signer: actions.escalate_breaches(
            case, signer, team=team or "management"
        )
    return lambda case, signer: actions.escalate(
        case, signer, kind=kind, tier=tier, team=team, reason=reason, confidential=confidential
    )


@case_group.command("ack", short_help="Take an escalation handed to you (by entry number).")
@click.argument("escalation", type=int)
@click.option("--note", help="Anything to add.")
@click.option(
    "--self-ack",
    metavar="REASON",
    help="You raised this escalation and take it yourself: say why (recorded).",
)
@_writes()
def ack_cmd(escalation: int, note: str | None, self_ack: str | None) -> Act:
    """Acknowledge escalation ESCALATION (its entry number): you, the signing member, have
    taken it. Whoever raised it needs --self-ack REASON."""
    from irkit.incident import actions

    return lambda case, signer: actions.acknowledge(
        case, signer, escalation, note=note, self_ack=self_ack
    )


@case_group.group("consent", cls=IrkitGroup, short_help="Customer permission to access/share data.")
def consent_group() -> None:
    """The customer's permission to access or share their data, and its withdrawal."""


@consent_group.command("grant")
@click.option("--by", "by", required=True, help="Who gave it (the customer's name).")
@click.option("--for", "scope", required=True, help="What for, e.g. 'remote access to PC-12'.")
@click.option("--how", "method", required=True, help="How: phone, email, signed form...")
@click.option("--at", "given_at", help="When they said so, if not just now (1970..9998 UTC).")
@_confidential
@_writes()
def consent_grant_cmd(
    by: str, scope: str, method: str, given_at: str | None, confidential: bool
) -> Act:
    """Record that the customer allowed something (ask before you connect)."""
    from irkit.incident import actions

    return lambda case, signer: actions.consent_grant(
        case,
        signer,
        by=by,
        scope=scope,
        method=method,
        given_at=_past(given_at) if given_at else None,
        confidential=confidential,
    )


@consent_group.command("withdraw")
@click.argument("grant", type=int)
@click.option("--by", "by", required=True, help="Who withdrew it.")
@click.option("--how", "method", required=True, help="How they said so.")
@click.option("--reason", help="What they said.")
@click.option("--at", "given_at", help="When, if not just now (1970..9998 UTC).")
@_confidential
@_writes()
def consent_withdraw_cmd(
    grant: int, by: str, method: str, reason: str | None, given_at: str | None, confidential: bool
) -> Act:
    """Record that the customer withdrew the consent granted at entry GRANT."""
    from irkit.incident import actions

    return lambda case, signer: actions.consent_withdraw(
        case,
        signer,
        grant,
        by=by,
        method=method,
        reason=reason,
        given_at=_past(given_at) if given_at else None,
        confidential=confidential,
    )


@case_group.command("inform", short_help="Record a customer update (restarts update clock).")
@click.argument("summary")
@click.option("--channel", default="phone", show_default=True, help="phone, email, portal...")
@_confidential
@_writes()
def inform_cmd(summary: str, channel: str, confidential: bool) -> Act:
    """Record that you updated the customer (restarts the update-cadence clock)."""
    from irkit.incident import actions

    return lambda case, signer: actions.inform(
        case, signer, channel=channel, summary=summary, confidential=confidential
    )


@case_group.command("resolve", short_help="Mark resolved: code, solution, outcome.")
@click.option("--code", required=True, help="Resolution code, e.g. CONFIG, MALWARE-REMOVED.")
@click.option("--solution", required=True, help="What fixed it, in words the customer gets.")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(OUTCOMES),
    help="What it turned out to be.",
)
@click.option("--impact", help="What the incident cost (downtime, data, users).")
@click.option("--reason", default="", help="Anything else to say.")
@_confidential
@_writes()
def resolve_cmd(
    code: str, solution: str, outcome: str, impact: str | None, reason: str, confidential: bool
) -> Act:
    """Mark it resolved (stops the resolve clock); then ask the customer to confirm."""
    from irkit.incident import actions

    resolution = {"code": code, "solution": solution, "outcome": outcome, "impact": impact}
    return lambda case, signer: actions.change_state(
        case,
        signer,
        "resolved",
        reason=reason or "resolved",
        resolution=resolution,
        confidential=confidential,
    )


@case_group.command("confirm", short_help="Record that the customer confirms the fix.")
@click.option("--by", "by", required=True, help="Who confirmed (the customer's name).")
@click.option("--channel", default="phone", show_default=True, help="How they confirmed.")
@click.option("--satisfaction", type=click.IntRange(1, 5), help="1 (unhappy) .. 5 (happy).")
@click.option("--comment", help="What the customer said.")
@_confidential
@_writes()
def confirm_cmd(
    by: str, channel: str, satisfaction: int | None, comment: str | None, confidential: bool
) -> Act:
    """The customer confirms the fix works (record their score and words if given)."""
    from irkit.incident import actions

    return lambda case, signer: actions.confirm(
        case,
        signer,
        by=by,
        channel=channel,
        satisfaction=satisfaction,
        comment=comment,
        confidential=confidential,
    )


@case_group.command("close", short_help="Close a resolved incident (confirmed, or --auto).")
@click.option(
    "--auto",
    is_flag=True,
    help="No answer from the customer for the configured number of days: close anyway.",
)
@click.option("--reason", default="", help="Anything to add.")
@_writes()
def close_cmd(auto: bool, reason: str) -> Act:
    """Close a resolved incident after the customer confirmed (or --auto after N days)."""
    from irkit.incident import actions

    why = reason or ("no answer: closed automatically" if auto else "customer confirmed")
    return lambda case, signer: actions.close(case, signer, auto=auto, reason=why)


@case_group.command("reopen", short_help="It is back: resolved/closed -> in progress.")
@click.option("--reason", required=True, help="Why: what the customer reports now.")
@_writes()
def reopen_cmd(reason: str) -> Act:
    """The problem is back: resolved/closed -> in progress (the resolve clock runs again)."""
    from irkit.incident import actions

    return lambda case, signer: actions.change_state(case, signer, "in_progress", reason=reason)


@case_group.group("followup", cls=IrkitGroup, short_help="Schedule a follow-up, then mark it done.")
def followup_group() -> None:
    """Follow-ups after resolution: schedule one, then mark it done."""


@followup_group.command("schedule")
@click.option("--due", required=True, help="When: 2026-12-01T10:00+01:00, or +3d / +2h from now.")
@click.option("--note", required=True, help="What to check.")
@_confidential
@_writes()
def followup_schedule_cmd(due: str, note: str, confidential: bool) -> Act:
    """Schedule a follow-up (call the customer back, check the fix held)."""
    from irkit.incident import actions

    return lambda case, signer: actions.followup_schedule(
        case, signer, due=_now(due), note=note, confidential=confidential
    )


@followup_group.command("done")
@click.argument("schedule", type=int)
@click.option("--note", required=True, help="What came of it.")
@_confidential
@_writes()
def followup_done_cmd(schedule: int, note: str, confidential: bool) -> Act:
    """Mark the follow-up scheduled at entry SCHEDULE as done."""
    from irkit.incident import actions

    return lambda case, signer: actions.followup_done(
        case, signer, schedule, note=note, confidential=confidential
    )


@case_group.command("kpi", short_help="MTTA, MTTR, pending, breaches, reopens, FCR.")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--now", "now_text", help="Compute as at this time, 1970..9998 UTC (default: now).")
@click.option(
    "--case",
    "case_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="IRKIT_CASE",
    callback=case_value,
    help="The case when no FOLDERS are given.",
)
@json_option
def kpi_cmd(
    folders: tuple[Path, ...], now_text: str | None, case_dir: Path | None, as_json: bool
) -> None:
    """KPIs over one case or many: FOLDERS are case folders or folders holding them.

    MTTA (opened -> first taken), MTTR in business hours (pauses excluded), total pending
    time, breaches, reopens, first-contact resolution rate, mean satisfaction.
    """
    from irkit.incident import kpi
    from irkit.incident.sla import format_duration
    from irkit.record.case import MARKER_NAME
    from irkit.record.summary import plural

    roots: list[Path] = []
    for folder in folders:
        if (folder / MARKER_NAME).is_file():
            roots.append(folder)
        else:
            found = sorted(p.parent for p in folder.glob(f"*/{MARKER_NAME}"))
            if not found:
                raise InputError(f"{folder} is not a case folder and holds none")
            roots.extend(found)
    now = _now(now_text)
    cases = [open_case(r) for r in roots] if roots else [open_case(case_dir)]
    rows = [kpi.case_kpi(c.info.case_id, c.read_entries().entries, now) for c in cases]
    result = kpi.summarize(rows)
    if as_json:
        print_json(result)
        return

    def dur(value: int | None) -> str:
        from datetime import timedelta

        return "-" if value is None else format_duration(timedelta(seconds=value))

    echo(
        f"{'case':<20} {'state':<12} {'P':<2} {'TTA':>12} {'TTR(bus.)':>12} "
        f"{'pending':>12} {'breach':>6} {'reopen':>6} FCR"
    )
    for r in rows:
        echo(
            f"{r.case:<20} {r.state:<12} {r.priority or '-'!s:<2} "
            f"{dur(r.time_to_acknowledge):>12} {dur(r.time_to_resolve):>12} "
            f"{dur(r.pending):>12} {r.breaches:>6} {r.reopens:>6} "
            f"{'yes' if r.first_contact_resolution else 'no'}"
        )
    fcr = "-" if result["fcr_percent"] is None else f"{result['fcr_percent']:g}%"
    mean = result["satisfaction_mean"]
    echo(
        f"{plural(result['cases'], 'case')}, {result['resolved']} resolved; "
        f"MTTA {dur(result['mtta'])}, MTTR {dur(result['mttr_business'])} business; "
        f"pending {dur(result['pending_total'])}; "
        f"SLA breaches {result['breaches']} customer + {result['internal_breaches']} internal "
        f"(tier); {plural(result['reopens'], 'reopen')}; FCR {fcr}"
        + (f"; satisfaction {mean:g}/5" if mean is not None else "")
    )


@case_group.command("list", short_help="The cases under a folder: id, state, priority, title.")
@click.argument(
    "folder", required=False, type=click.Path(file_okay=False, path_type=Path), default="."
)
@json_option
def list_cmd(folder: Path, as_json: bool) -> None:
    """The cases at or below FOLDER (default: here), up to four levels down: id, state,
    priority, last activity, title and path. A case that cannot be read is listed with
    the reason (and the command exits 1), never skipped silently."""
    from dataclasses import asdict

    from irkit.errors import ProblemsFound
    from irkit.formats.timefmt import display
    from irkit.incident.caselist import list_cases

    rows = list_cases(folder)
    if as_json:
        print_json([asdict(r) for r in rows])
    elif not rows:
        echo(f"no cases under {folder}")
    else:
        echo(f"{'case':<20} {'state':<12} {'P':<2} {'last activity':<24} title  (path)")
        for r in rows:
            if r.problem is not None:
                echo(f"{'?':<20} {'unreadable':<12} {'-':<2} {'-':<24} {r.problem}  ({r.path})")
                continue
            last = display(r.last_activity) if r.last_activity else "-"
            echo(
                f"{r.case_id or '?':<20} {r.state or '?':<12} {r.priority or '-'!s:<2} "
                f"{last:<24} {r.title}  ({r.path})"
            )
    bad = [r.path for r in rows if r.problem is not None]
    if bad:
        raise ProblemsFound(f"{len(bad)} case folder(s) could not be read: {', '.join(bad)}")
