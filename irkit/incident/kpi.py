"""Help-desk KPIs over one or many cases, computed from the journals at read time.

Definitions (all in whole seconds):
- time to acknowledge (MTTA per case): case opened -> first move out of `new`, wall clock;
- time to resolve (MTTR): the resolve clock's elapsed business time at its last resolution
  (working hours of the priority's calendar, pauses while pending on customer/vendor excluded);
- pending: wall-clock time spent pending, any reason;
- breaches: customer clocks (respond, resolve) over target plus missed update periods;
- internal breaches: the service desk's own tier clocks (tier 1 from the first call, tier N
  from each escalation) over target;
- reopens: moves from resolved/closed back to in_progress;
- first-contact resolution: resolved (or closed) without any escalation, pending or reopen.
Means are over the cases that have the value (an unresolved case has no MTTR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from irkit.incident import lifecycle
from irkit.incident.sla import seconds
from irkit.record.entry import Entry


@dataclass(frozen=True)
class CaseKpi:
    case: str
    state: str
    priority: int | None
    time_to_acknowledge: int | None
    time_to_resolve: int | None
    pending: int
    breaches: int
    internal_breaches: int
    reopens: int
    escalations: int
    first_contact_resolution: bool
    satisfaction: int | None


def case_kpi(name: str, entries: Sequence[Entry], now: datetime) -> CaseKpi:
    """KPIs as at `now`, from the entries recorded up to then only."""
    inc = lifecycle.fold(lifecycle.as_at(entries, now))
    readings = lifecycle.clocks(inc, now)
    resolved = inc.state in ("resolved", "closed")
    tta = None
    if inc.first_response is not None and inc.opened is not None:
        tta = seconds(inc.first_response - inc.opened)
    ttr = None
    if resolved and len(readings.customer) > 1:
        ttr = seconds(readings.customer[1].elapsed)
    breaches = sum(1 for r in readings.customer[:2] if r.breached) + readings.missed_updates
    internal = sum(1 for r in readings.internal if r.breached)
    satisfaction = None
    if inc.confirmation is not None:
        satisfaction = inc.confirmation[1].get("satisfaction")
    return CaseKpi(
        case=name,
        state=inc.state,
        priority=inc.priority,
        time_to_acknowledge=tta,
        time_to_resolve=ttr,
        pending=seconds(lifecycle.pending_time(inc, now)),
        breaches=breaches,
        internal_breaches=internal,
        reopens=inc.reopens,
        escalations=len(inc.escalations),
        first_contact_resolution=(
            resolved and not inc.escalations and not inc.ever_pending and inc.reopens == 0
        ),
        satisfaction=satisfaction,
    )


def _mean(values: list[int]) -> int | None:
    return round(sum(values) / len(values)) if values else None


def summarize(cases: Sequence[CaseKpi]) -> dict[str, Any]:
    resolved = [c for c in cases if c.state in ("resolved", "closed")]
    scores = [c.satisfaction for c in cases if c.satisfaction is not None]
    fcr = sum(c.first_contact_resolution for c in cases)
    return {
        "cases": len(cases),
        "resolved": len(resolved),
        "mtta": _mean([c.time_to_acknowledge for c in cases if c.time_to_acknowledge is not None]),
        "mttr_business": _mean([c.time_to_resolve for c in cases if c.time_to_resolve is not None]),
        "pending_total": sum(c.pending for c in cases),
        "breaches": sum(c.breaches for c in cases),
        "internal_breaches": sum(c.internal_breaches for c in cases),
        "reopens": sum(c.reopens for c in cases),
        "first_contact_resolutions": fcr,
        "fcr_percent": round(100 * fcr / len(resolved), 2) if resolved else None,
        # the mean score on the customer's 1-5 scale, as a plain number
        "satisfaction_mean": round(sum(scores) / len(scores), 2) if scores else None,
        "per_case": [asdict(c) for c in cases],
    }
