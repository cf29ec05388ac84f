"""The demo's team chapter (run from irkit.demo.story.DEMO_STEPS): Alice and Bob on two
machines, sharing the case through a directory remote inside the demo folder (no server).

Bob's machine is a folder of its own: its own irkit home (`IRKIT_HOME`, where the append
cache's secret lives) and its own clone of the case. Both write while offline, sync (Alice's
entry is rebased after Bob's), Alice hands Bob a new item, Bob accepts it on his machine
after re-hashing the copy his sync downloaded, and both copies verify to the same root.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from irkit.audit.verify import verify_case
from irkit.demo.story import story
from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.notes.notes import add_note
from irkit.record.case import Case
from irkit.remote import state, sync

if TYPE_CHECKING:
    from irkit.demo.story import DemoContext


@contextlib.contextmanager
def machine(home: Path) -> Iterator[None]:
    """Act as another machine's user: its own IRKIT_HOME for the duration."""
    before = os.environ.get("IRKIT_HOME")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["IRKIT_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("IRKIT_HOME", None)
        else:
            os.environ["IRKIT_HOME"] = before


def demo_step(ctx: DemoContext) -> None:
    alice, bob = ctx.signers["alice"], ctx.signers["bob"]
    remote = (ctx.root / "team-remote").absolute()  # a NAS share or a USB stick in real life
    remote.mkdir()
    alices = ctx.case
    story(ctx, 2, 13, 0)  # Wednesday afternoon: Bob works from the lab, Alice on site
    sync.add_remote(alices, "team", state.RemoteConfig(url=str(remote)))
    first = sync.sync(alices, "team", signer=alice, clock=ctx.clock)

    bob_machine = (ctx.root / "bob-machine").absolute()
    with machine(bob_machine / "irkit-home"):
        cloned = sync.clone(str(remote), bob_machine / "case", trust=alice.fingerprint)
    bobs = Case.open(Path(cloned.path))

    # both offline: each writes on their own copy
    story(ctx, 2, 13, 10)
    with machine(bob_machine / "irkit-home"):
        add_note(
            bobs,
            bob,
            "Lab: the fetched script installs a reverse shell to 198.51.100.7:4444.",
            tags=["analysis"],
            clock=ctx.clock,
        )
    story(ctx, 2, 13, 20)
    netstat = ctx.files / "web-01-netstat.txt"
    netstat.write_text(
        "tcp  0  0 10.0.4.21:51514  198.51.100.7:4444  ESTABLISHED 2231/sh\n", encoding="utf-8"
    )
    add_note(
        alices,
        alice,
        "On site: web-01 holds an open connection to 198.51.100.7:4444.",
        tags=["onsite"],
        clock=ctx.clock,
    )
    item = collect(
        alices,
        alice,
        [netstat],
        description="netstat output from web-01",
        location="web-01 console",
        source_host="web-01",
        clock=ctx.clock,
    ).body["items"][0]["id"]

    story(ctx, 2, 14, 0)  # back online: Bob first, then Alice (hers go after his)
    with machine(bob_machine / "irkit-home"):
        sync.sync(bobs, signer=bob, clock=ctx.clock)
    rebased = sync.sync(alices, "team", signer=alice, clock=ctx.clock)

    story(ctx, 2, 14, 30)  # Alice hands the new item to Bob; he accepts it in the lab
    transfer = custody.release(
        alices,
        alice,
        [item],
        to=bob.fingerprint,
        purpose="compare with the lab's capture",
        method="through the team remote",
        clock=ctx.clock,
    ).body["transfer"]
    sync.sync(alices, "team", signer=alice, clock=ctx.clock)
    story(ctx, 2, 15, 0)
    with machine(bob_machine / "irkit-home"):
        sync.sync(bobs, signer=bob, clock=ctx.clock)  # pulls the release and the copy
        custody.accept(
            Case.open(bobs.root),
            bob,
            transfer,
            condition="copy re-hashed on Bob's machine",
            clock=ctx.clock,
        )
        sync.sync(bobs, signer=bob, clock=ctx.clock)
    last = sync.sync(alices, "team", signer=alice, clock=ctx.clock)

    with machine(bob_machine / "irkit-home"):
        on_bob = verify_case(bobs.root, trust=[alice.fingerprint])
    on_alice = verify_case(alices.root, trust=[alice.fingerprint])
    same = on_alice.root == on_bob.root and on_alice.entries == on_bob.entries
    ctx.steps.append(
        f"team: Alice published {first.published} entries to a directory remote ({remote}); "
        f"Bob cloned it on his machine ({bob_machine}, anchored on Alice's fingerprint); "
        f"both wrote offline, synced (Alice's {rebased.rebased} entries rebased after "
        f"Bob's); Alice released {item} to Bob ({transfer}), Bob accepted it on his "
        f"machine; {last.remote_size} entries published; both copies "
        + (
            f"VERIFIED with the same Merkle root {on_alice.root[:16]}…"
            if same and on_alice.ok and on_bob.ok
            else "FAILED to agree"
        )
    )
