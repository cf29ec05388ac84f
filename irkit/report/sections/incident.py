"""The incident sections: executive summary, lifecycle (states, SLA, escalations, consent,
customer updates), the timeline figure, root cause to lessons learned, KPIs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from irkit.report.cells import (
    pcell,
    plain,
    row_tables,
)
from irkit.report.model import human_moment
from irkit.report.pages import WIDTH

if TYPE_CHECKING:
    from irkit.report.render import Builder


def executive_summary(doc: Builder) -> None:
    doc.h2("Executive summary")
    m = doc.m
    for line in m.summary_lines:
        doc.para(line)
        doc.story.append(Spacer(0, 1.2 * mm))
    if m.sla:
        doc.story += plain(
            ["Service level", "Target", "Result at the report's time"],
            [[n, t, v] for n, t, v in m.sla],
            [60 * mm, 50 * mm, WIDTH - 110 * mm],
            doc.st,
        )


def incident(doc: Builder) -> None:
    m = doc.m
    doc.h2("Incident")
    if not m.incident_facts:
        doc.para("No incident lifecycle recorded (state: new).")
        return
    doc.kv(m.incident_facts)
    if m.phases:
        doc.h3("States", listed=False)
        rows = [
            [
                p.state + (f"\nwaiting for {p.waiting_for}" if p.waiting_for else ""),
                human_moment(p.start, m.zone),
                human_moment(p.end, m.zone) if p.end else "(current)",
            ]
            for p in m.phases
        ]
        doc.story += plain(
            ["State", "From", "Until"], rows, [40 * mm, 65 * mm, WIDTH - 105 * mm], doc.st
        )
    doc.h3("Service levels (SLA)", listed=False)
    if m.sla:
        doc.story += plain(
            ["Clock", "Target", "Result at the report's time"],
            [[n, t, v] for n, t, v in m.sla],
            [60 * mm, 50 * mm, WIDTH - 110 * mm],
            doc.st,
        )
    else:
        doc.para("No priority set, so no SLA clocks ran.", "small")
    doc.h3("Escalations", listed=False)
    if m.escalations:
        width = WIDTH - 140 * mm
        doc.story += row_tables(
            ["Entry", "When", "Escalated to", "Trigger", "Reason", "Acknowledgement"],
            [
                [
                    e[0],
                    pcell(e[1], doc.st["cell"], 30 * mm),
                    pcell(e[2], doc.st["cell"], 28 * mm),
                    pcell(e[3], doc.st["cell"], 22 * mm),
                    pcell(e[4], doc.st["cell"], width),
                    pcell(e[5], doc.st["cell"], 48 * mm),
                ]
                for e in m.escalations
            ],
            [12 * mm, 30 * mm, 28 * mm, 22 * mm, width, 48 * mm],
            doc.st,
        )
    else:
        doc.para("None recorded.", "small")
    doc.h3("Customer consent", listed=False)
    if m.consents:
        width = WIDTH - 134 * mm
        doc.story += row_tables(
            ["Entry", "Recorded", "Given by", "Scope (method)", "Status"],
            [
                [
                    c[0],
                    pcell(c[1], doc.st["cell"], 36 * mm),
                    pcell(c[2], doc.st["cell"], 36 * mm),
                    pcell(c[3], doc.st["cell"], width),
                    pcell(c[4], doc.st["cell"], 50 * mm),
                ]
                for c in m.consents
            ],
            [12 * mm, 36 * mm, 36 * mm, width, 50 * mm],
            doc.st,
        )
    else:
        doc.para("None recorded.", "small")
    doc.h3("Customer updates", listed=False)
    if m.informed:
        width = WIDTH - 98 * mm
        doc.story += row_tables(
            ["Entry", "When", "Channel, by", "Summary"],
            [
                [
                    c[0],
                    pcell(c[1], doc.st["cell"], 40 * mm),
                    pcell(c[2], doc.st["cell"], 46 * mm),
                    pcell(c[3], doc.st["cell"], width),
                ]
                for c in m.informed
            ],
            [12 * mm, 40 * mm, 46 * mm, width],
            doc.st,
        )
    else:
        doc.para("None recorded.", "small")


def timeline_figure(doc: Builder) -> None:
    from irkit.report.figures import timeline

    doc.h2("Timeline")
    drawing = timeline(doc.m, WIDTH)
    if drawing is None:
        doc.para("No dated notes or evidence recorded.")
    else:
        doc.story.append(drawing)


def root_cause(doc: Builder) -> None:
    doc.h2("Root cause")
    if doc.m.root_cause:
        doc.kv(doc.m.root_cause)
    else:
        doc.para(
            "Not recorded: no root-cause field, resolution code, category, linked problem "
            "record or note tagged root-cause in the journal shown."
        )


def workaround(doc: Builder) -> None:
    doc.h2("Workaround")
    doc.listing(
        doc.m.workarounds,
        "Not recorded: no linked record with a workaround and no note tagged workaround.",
    )


def resolution(doc: Builder) -> None:
    doc.h2("Resolution")
    if doc.m.resolution:
        doc.kv(doc.m.resolution)
    else:
        doc.para(f"Not resolved in the journal shown (state: {doc.m.state}).")


def confirmation(doc: Builder) -> None:
    doc.h2("Customer confirmation and follow-up")
    if doc.m.confirmation:
        doc.kv(doc.m.confirmation)
    else:
        doc.para("No customer confirmation recorded.")
    doc.para("Follow-up:", "body")
    doc.listing(doc.m.followups, "No follow-up recorded.")


def lessons_learned(doc: Builder) -> None:
    doc.h2("Lessons learned")
    doc.listing(
        doc.m.lessons,
        "Not recorded: no lessons-learned incident field (irkit case set "
        "lessons-learned TEXT) and no note tagged lessons-learned.",
    )


def kpis(doc: Builder) -> None:
    doc.h2("Key performance indicators")
    if doc.m.kpis:
        doc.kv(doc.m.kpis)
    else:
        doc.para("Not available: the incident lifecycle was not worked in this journal.")
