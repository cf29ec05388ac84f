"""Completeness lint: what RFC 3227 and NIST SP 800-61 expect a case to record and it lacks.

`verify` says whether the record is intact; `lint` says whether it is complete enough to
hold up: a collection without the place it was found, a transfer without how it travelled,
an item never checked again, a checkpoint no third party vouches for. It only reads (exit 1
when something is missing, so it can gate a sign-off). A rule can be switched off for a case
with a reason, as a signed `lint.waived` entry: the waiver is part of the record, who waived
what and why is on the same footing as the findings it hides.

It lives with the incident domain (not audit/) because it folds the evidence and custody
domains' state and the desk's settings: audit/ sits below the domains and may not read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, parse_utc, system_clock
from irkit.record.bodies import Body, Label
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kindspec import Context, KindSpec
from irkit.record.summary import clip

KIND = "lint.waived"
RFC3227_2 = "RFC 3227 §2 (UTC or local time for each timestamp)"
RFC3227 = "RFC 3227 §4.1 (chain of custody)"
NIST = "NIST SP 800-61r2 §3.3.2 (evidence gathering and handling)"
DEFAULT_MAX_TRANSIT = 24 * 3600

# rule id -> (what the case lacks, in general; which standards ask for it)
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "time-zone": ("the case's time zone (signed settings)", (NIST, RFC3227_2)),
    "collection-location": ("where the evidence was found and collected", (RFC3227, NIST)),
    "source-host": ("the system the evidence came from (host name)", (NIST, RFC3227)),
    "source-identity": (
        "anything identifying the source (host name, serial number, MAC or IP address)",
        (NIST, RFC3227),
    ),
    "handler-contact": ("how to reach each person who handled the evidence", (NIST, RFC3227)),
    "storage-location": ("where the item is stored", (RFC3227, NIST)),
    "transfer-method": ("how a transfer travelled (courier, in person, bag no.)", (RFC3227,)),
    "never-rechecked": ("a later check of the item's integrity", (RFC3227, NIST)),
    "in-transit": ("an end to a transfer within the allowed time", (RFC3227, NIST)),
    "unanchored": ("a witness's cosignature or an RFC 3161 timestamp", (RFC3227, NIST)),
}
# what the standards ask for that the format has no field for yet: listed, never "found"
# (none at present: handler contact and the source's identifiers are recorded and checked)
UNCHECKED: tuple[str, ...] = ()
# the entries that make their signer a handler of evidence (NIST §3.3.2 wants each one's
# name, role and contact): collecting it, and every custody act
HANDLING_KINDS = frozenset({"evidence.collected", "evidence.relocated"})
# any one of these identifies a collection's source (a model alone does not)
IDENTIFYING = ("source_host", "source_serial", "source_mac", "source_ip")
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")]


class LintWaived(Body):
    """A lint rule switched off for this case, and why (shown with every lint run)."""

    rule: RuleId
    reason: Label


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    missing: str
    seq: int | None = None
    item: str | None = None
    standards: list[str]


class Waiver(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    reason: str
    seq: int
    by: str  # the signer's fingerprint
    hidden: int  # findings of the rule this run did not report


class LintReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_id: str | None
    findings: list[Finding]
    waived: list[Waiver]
    unchecked: list[str]
    max_transit: int  # seconds an item may be in transit

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Item:
    id: str
    seq: int
    checked: bool = False
    stored: bool = False


@dataclass
class _State:
    items: dict[str, _Item] = field(default_factory=dict)
    releases: dict[str, Entry] = field(default_factory=dict)
    zone_set: bool = False
    waivers: dict[str, Entry] = field(default_factory=dict)
    handlers: dict[str, int] = field(default_factory=dict)  # fingerprint -> first such seq


Add = Callable[..., None]


def _adder(found: list[Finding]) -> Add:
    """`add(rule, missing, seq=None, item=None)`: one finding, with the rule's standards."""

    def add(rule: str, missing: str, seq: int | None = None, item: str | None = None) -> None:
        standards = list(RULES[rule][1])
        found.append(Finding(rule=rule, missing=missing, seq=seq, item=item, standards=standards))

    return add


def _fold(entries: Sequence[Entry], found: list[Finding], max_transit: int) -> _State:
    state = _State()
    add = _adder(found)

    for e in entries:
        b = e.body
        if e.kind in HANDLING_KINDS or e.kind.startswith("custody."):
            state.handlers.setdefault(e.actor, e.seq)
        if e.kind == "incident.configured":
            state.zone_set = True
        elif e.kind == KIND:
            state.waivers[str(b["rule"])] = e
        elif e.kind == "evidence.collected":
            ids = [str(i["id"]) for i in b["items"]]
            for item_id in ids:
                state.items[item_id] = _Item(item_id, e.seq)
            what = ", ".join(ids) if len(ids) <= 3 else f"{ids[0]}..{ids[-1]} ({len(ids)} items)"
            if not b.get("location"):
                add("collection-location", f"collection of {what} names no location", e.seq)
            if not b.get("source_host"):
                add("source-host", f"collection of {what} names no source system", e.seq)
            if not any(b.get(k) for k in IDENTIFYING):
                add(
                    "source-identity",
                    f"collection of {what} names nothing identifying its source (no host, "
                    "serial number, MAC or IP address: `--source-host`, `--serial`, `--mac`, "
                    "`--ip`)",
                    e.seq,
                )
        elif e.kind == "custody.released":
            state.releases[str(b["transfer"])] = e
            if not b.get("method"):
                add("transfer-method", f"transfer {b['transfer']} says not how it travels", e.seq)
        elif e.kind == "custody.accepted":
            release = state.releases.pop(str(b["transfer"]), None)
            if release is not None:
                took = _seconds(release.recorded, e.recorded)
                if took > max_transit:
                    add(
                        "in-transit",
                        f"transfer {b['transfer']} was in transit {_hours(took)} "
                        f"(entries {release.seq}-{e.seq}; allowed {_hours(max_transit)})",
                        e.seq,
                    )
            for check in b["checks"]:
                if str(check["item"]) in state.items:
                    state.items[str(check["item"])].checked = True
        elif e.kind == "custody.checked":
            for item_id in b["items"]:
                if str(item_id) in state.items:
                    state.items[str(item_id)].checked = True
        elif e.kind == "custody.stored":
            for item_id in b["items"]:
                if str(item_id) in state.items:
                    state.items[str(item_id)].stored = True
    return state


def _seconds(start: str, end: str | datetime) -> int:
    stop = end if isinstance(end, datetime) else parse_utc(end)
    return int((stop - parse_utc(start)).total_seconds())


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.1f} h"


def _kept_checkpoints(case_root: Path) -> list[tuple[int, bool]]:
    """(size, carries a cosignature line) for each kept checkpoint in checkpoints/.

    Completeness only: whether a cosignature verifies, and under which witness key, is
    `irkit verify --witness`'s question (irkit/audit/witness.py)."""
    from irkit.formats import cosignature
    from irkit.formats.signednote import parse_checkpoint, parse_note
    from irkit.record import safefile

    folder = case_root / "checkpoints"
    out: list[tuple[int, bool]] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".tmp"):
            continue
        try:
            note = parse_note(safefile.read_bytes(path))
            cp = parse_checkpoint(note.text)
        except (OSError, InputError, UnicodeDecodeError, ValueError):
            continue  # verify reports an unreadable checkpoint
        cosigned = any(cosignature.decode(sig) is not None for sig in note.signatures)
        out.append((cp.size, cosigned))
    return out


def _handler_contacts(case: Case, handlers: dict[str, int], add: Add) -> None:
    """One finding per person who signed a collection or custody entry and whose member
    info gives no contact (the contact is fixed when they are added: `--contact`)."""
    members = case.roster().members
    for fp, seq in handlers.items():
        member = members.get(fp)
        if member is None or member.contact:
            continue  # a non-member's entry is verify's problem, not a missing field
        add(
            "handler-contact",
            f"{member.name} ({member.role}) handled evidence (first at entry {seq}) but their "
            "member entry gives no contact (`--contact` when they are added)",
            member.added_seq,
        )


def _anchoring(case_root: Path, entries: Sequence[Entry], add: Add) -> None:
    n = len(entries)
    # a timestamp's own entry comes after the checkpoint it stamps; asking for it to be
    # covered too would never end (its token is third-party evidence in itself)
    while n and entries[n - 1].kind == "checkpoint.timestamped":
        n -= 1
    kept = _kept_checkpoints(case_root)
    witnessed = max((size for size, cosigned in kept if cosigned and size <= n), default=0)
    # checkpoint.timestamped (irkit/audit/timestamp.py): a TSA's token over a checkpoint
    stamped = max(
        (int(e.body["size"]) for e in entries if e.kind == "checkpoint.timestamped"), default=0
    )
    covered = min(max(witnessed, stamped), n)
    if not kept and not stamped:
        add("unanchored", "no checkpoint was ever signed (`irkit checkpoint`)")
    elif covered == 0:
        add(
            "unanchored",
            "no checkpoint was witnessed (`irkit checkpoint --witness URL`) or timestamped "
            "(`irkit checkpoint --tsa URL`)",
        )
    elif covered < n:
        add(
            "unanchored",
            f"entries {covered}-{n - 1} are covered by no witnessed or timestamped checkpoint",
            covered,
        )


def lint(
    case: Case, *, max_transit: int = DEFAULT_MAX_TRANSIT, clock: Clock = system_clock
) -> LintReport:
    """What the case lacks, rule by rule; waived rules' findings are counted, not listed."""
    if max_transit <= 0:
        raise InputError("the allowed time in transit must be positive")
    entries = case.read_entries().entries
    found: list[Finding] = []
    add = _adder(found)

    state = _fold(entries, found, max_transit)
    if not state.zone_set:
        add(
            "time-zone",
            "no signed time zone for the case: times are shown in UTC only "
            "(`irkit case configure` with `zone = ...`)",
        )
    now = clock()
    for transfer, release in state.releases.items():
        took = _seconds(release.recorded, now)
        if took > max_transit:
            add(
                "in-transit",
                f"transfer {transfer} has been in transit {_hours(took)} (since entry "
                f"{release.seq}; allowed {_hours(max_transit)})",
                release.seq,
            )
    for item in state.items.values():
        if not item.stored:
            add(
                "storage-location",
                f"{item.id}: no entry says where it is stored",
                item.seq,
                item.id,
            )
        if not item.checked:
            add(
                "never-rechecked",
                f"{item.id}: never checked again after its collection",
                item.seq,
                item.id,
            )
    _handler_contacts(case, state.handlers, add)
    _anchoring(case.root, entries, add)
    waived: list[Waiver] = []
    for rule, entry in sorted(state.waivers.items()):
        hidden = sum(f.rule == rule for f in found)
        waived.append(
            Waiver(
                rule=rule,
                reason=str(entry.body["reason"]),
                seq=entry.seq,
                by=entry.actor,
                hidden=hidden,
            )
        )
    shown = [f for f in found if f.rule not in state.waivers]
    case_id = str(entries[0].body.get("case_id")) if entries else None
    return LintReport(
        case_id=case_id,
        findings=shown,
        waived=waived,
        unchecked=list(UNCHECKED),
        max_transit=max_transit,
    )


def check_rule(rule: str) -> None:
    if rule not in RULES:
        raise InputError(f"unknown lint rule {rule!r} (rules: {', '.join(RULES)})")


def waive(
    case: Case, signer: Signer, rule: str, reason: str, *, clock: Clock = system_clock
) -> Entry:
    """Record that `rule` is switched off for this case, and why (a signed entry)."""
    check_rule(rule)
    if not reason.strip():
        raise InputError("a waiver needs a reason (--reason)")
    return case.append(signer, KIND, {"rule": rule, "reason": reason}, clock=clock)


def verify_rule(entry: Entry, ctx: Context) -> None:
    """A waiver of a rule this irkit does not know is a warning (a newer irkit's rule),
    not a problem: it hides nothing here."""
    if entry.body["rule"] not in RULES:
        ctx.warn(entry.seq, "lint", f"waiver of lint rule {entry.body['rule']!r}, unknown here")


def _summary(e: Entry) -> str:
    return f"{e.body['rule']} switched off: {clip(str(e.body['reason']), 60)}"


KIND_SPECS = (KindSpec(KIND, LintWaived, verify_rule, _summary),)
