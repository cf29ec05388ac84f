"""The demo's evidence and custody chapter (run from irkit.demo.story.DEMO_STEPS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from irkit.demo.story import story
from irkit.evidence import custody
from irkit.evidence.collect import collect

if TYPE_CHECKING:
    from irkit.demo.story import DemoContext


def demo_step(ctx: DemoContext) -> None:
    alice, bob = ctx.signers["alice"], ctx.signers["bob"]
    story(ctx, 0, 10, 20)  # Monday: copies taken on site
    entry = collect(
        ctx.case,
        alice,
        [ctx.files],
        description="files copied from web-01",
        location="web-01, rack 4",
        # the source as NIST SP 800-61 asks to identify it (documentation-only addresses:
        # RFC 5737 and RFC 7042)
        source_host="web-01",
        serial="DEMO-SN-0001",
        model="Example Server 2U",
        macs=["00:00:5e:00:53:01"],
        ips=["192.0.2.10"],
        clock=ctx.clock,
    )
    items = [i["id"] for i in entry.body["items"]]
    story(ctx, 0, 10, 45)
    transfer = custody.release(
        ctx.case,
        alice,
        items,
        to=bob.fingerprint,
        purpose="analysis in the lab",
        method="in person",
        location="site office",
        clock=ctx.clock,
    )
    story(ctx, 0, 11, 40)  # Bob drove the copies to the lab
    custody.accept(
        ctx.case, bob, transfer.body["transfer"], condition="copies verified", clock=ctx.clock
    )
    story(ctx, 0, 11, 55)
    custody.store(ctx.case, bob, items, location="lab evidence locker 2", clock=ctx.clock)
    ctx.steps.append(
        f"collected {len(items)} evidence items ({', '.join(items)}); Alice released them to "
        f"Bob ({transfer.body['transfer']}), Bob re-hashed and accepted, then stored them "
        f"(`irkit custody show {items[0]}`)"
    )
