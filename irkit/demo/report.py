"""The demo's last chapter: the incident report (irkit.demo.story.story.FINAL_STEPS)."""

from __future__ import annotations

from typing import Any

from irkit.report.export import export


def demo_step(ctx: Any, report: Any) -> None:
    """`irkit demo` ends with the full incident report in its folder, recorded in the journal."""
    target = ctx.root / "report.pdf"
    done = export(ctx.case, ctx.signers["alice"], "incident", False, target, clock=ctx.clock)
    ctx.steps.append(
        f"wrote the incident report report.pdf (sha256 {done.sha256[:16]}…), "
        f"recorded as entry {done.entry.seq}"
    )
