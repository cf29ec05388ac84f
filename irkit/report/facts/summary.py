"""The executive summary, stated only from facts the journal holds.

A narrative in the order a reader of an incident report asks (NIST SP 800-61, SANS): who
reported what and when, what was found, what was done, the outcome, and the service levels.
Every sentence is made from the folded model, so text a redacted report withholds is already
withheld here; nothing is said that no entry records.
"""

from __future__ import annotations

from irkit.report.facts.notes import CAUSE_TAGS
from irkit.report.model import NoteRow, ReportModel, entry_range, human_moment, human_time


def _clip(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _said(n: NoteRow, zone: str) -> str:
    return f"{n.author} (#{n.seq}, {human_time(n.event_time, zone)}): “{_clip(n.text)}”"


def _reported(m: ReportModel) -> str:
    z = m.zone
    when = f" on {human_time(m.opened_at, z)}" if m.opened_at else ""
    text = f"{m.opener or 'Someone'} opened case {m.case_id}, “{m.title}”,{when}."
    first = next((n for n in m.notes if n.corrects is None), None)
    if first is not None:
        text += f" The first note is by {_said(first, z)}."
    if m.phases and m.phases[0].state == "new":
        text += f" The incident was logged {human_moment(m.phases[0].start, z)}"
        text += f" and handled by {m.handler}." if m.handler else "."
    text += (
        f" This report shows the signed journal up to {human_time(m.as_of, z)}: "
        f"{entry_range(m.size)}."
    )
    return text


def _found(m: ReportModel) -> str:
    facts = dict(m.incident_facts)
    parts = []
    if m.priority:
        rated = [f"{k.lower()} {facts[k]}" for k in ("Impact", "Urgency") if k in facts]
        parts.append(f"It was rated {m.priority}" + (f" ({', '.join(rated)})" if rated else ""))
    if "Category" in facts:
        parts.append(f"categorised as {facts['Category']}")
    text = ", ".join(parts) + "." if parts else ""
    causes = [v for k, v in m.root_cause if k == "Root cause"]
    causes += [  # the notes tagged for it, as last corrected
        f"{n.author} (#{n.seq}): “{_clip(n.text)}”"
        for n in m.notes
        if CAUSE_TAGS.intersection(n.tags) and not n.corrected_by
    ]
    if causes:
        text += " Root cause recorded: " + "; ".join(_clip(c) for c in causes) + "."
    starred = [n for n in m.notes if n.starred]
    if starred:
        text += " Key observations (starred notes): " + "; ".join(_said(n, m.zone) for n in starred)
        text += "."
    text += f" Responders wrote {_count(len(m.notes), 'note')}"
    secret = sum(1 for n in m.notes if n.confidential)
    text += f" ({secret} confidential)." if secret else "."
    return text.strip()


def _done(m: ReportModel) -> str:
    sentences = []
    for seq, when, to, trigger, reason, ack in m.escalations:
        acked = "not acknowledged" if ack == "NOT ACKNOWLEDGED" else ack
        sentences.append(f"On {when} it was escalated ({to}, {trigger}; {seq}): {reason}; {acked}.")
    if m.evidence:
        batches = sorted({e.collected_seq for e in m.evidence})
        first = m.evidence[0]
        transfers = sum(1 for r in m.custody_log if r.step == "released")
        sentences.append(
            f"{_count(len(m.evidence), 'evidence item')} were collected in "
            f"{_count(len(batches), 'collection')}, the first on {first.collected} by "
            f"{first.by}; items changed hands {_count(transfers, 'time')}."
        )
    pending = [p for p in m.phases if p.state == "pending"]
    if pending:
        why = ", ".join(sorted({p.waiting_for or "unstated" for p in pending}))
        sentences.append(f"Work paused {_count(len(pending), 'time')} (waiting for {why}).")
    if m.consents:
        withdrawn = sum(1 for c in m.consents if c[4].startswith("WITHDRAWN"))
        sentences.append(
            f"Customer consent was recorded {_count(len(m.consents), 'time')}"
            + (f", {withdrawn} withdrawn." if withdrawn else ".")
        )
    if m.informed:
        sentences.append(f"The customer was informed {_count(len(m.informed), 'time')}.")
    if m.backups:
        passed = sum(1 for b in m.backups if b.verdict == "PASS")
        failed = sum(1 for b in m.backups if b.verdict == "FAIL")
        sentences.append(
            f"{_count(len(m.backups), 'backup entry', 'backup entries')} recorded "
            f"({passed} PASS, {failed} FAIL)."
        )
    return " ".join(sentences) or "No escalation, evidence or customer contact is recorded."


def _outcome(m: ReportModel) -> str:
    res = dict(m.resolution)
    if not res:
        return f"Outcome: not resolved in the journal shown (state {m.state})."
    text = f"Outcome: {res.get('Code')}: {res.get('Solution')} (outcome {res.get('Outcome')}"
    text += f"; impact {res['Impact']})." if res.get("Impact") != "not recorded" else ")."
    if "Resolved" in res:
        text += f" Resolved {res['Resolved']}."
    conf = dict(m.confirmation)
    if "Confirmed by" in conf:
        text += f" Confirmed by {conf['Confirmed by']}"
        text += f", satisfaction {conf['Satisfaction']}." if conf.get("Satisfaction") else "."
    if "Closure" in conf:
        text += f" Closure: {conf['Closure']}."
    if m.followups:
        still = sum(1 for f in m.followups if f.endswith("; open"))
        text += f" {_count(len(m.followups), 'follow-up')} scheduled, {still} still open."
    text += f" State at the report's time: {m.state}."
    return text


def _service(m: ReportModel) -> str:
    if not m.sla:
        return "Service levels: no priority set, so no SLA clocks ran."
    met = [n for n, _, v in m.sla if v.startswith("met")]
    missed = [n for n, _, v in m.sla if v.startswith("breached")]
    other = [v.split()[0] for n, _, v in m.sla if n not in met and n not in missed]
    text = f"Service levels: {len(met)} met, {len(missed)} breached"
    text += f" ({', '.join(missed)})" if missed else ""
    text += f", {len(other)} not decided yet ({', '.join(sorted(set(other)))})" if other else ""
    return text + "; the table below gives each clock."


def summary_lines(m: ReportModel) -> list[str]:
    """The executive summary's paragraphs: reported, found, done, outcome, service levels."""
    return [_reported(m), _found(m), _done(m), _outcome(m), _service(m)]
