"""The `checkpoint.timestamped` kind side by side: its body, its verify rule, its summary,
and the end-of-walk check of every recorded token (`check_timestamps`, called by
irkit.audit.verify). Requesting and checking a token is irkit.audit.timestamp.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from irkit.audit.timestamp import KIND, MAX_RESPONSE, Oid, check_response, pinned_roots
from irkit.errors import InputError, ProblemsFound
from irkit.formats.timefmt import format_utc, is_utc_stamp
from irkit.record.bodies import Body
from irkit.record.kindspec import Context, KindSpec

if TYPE_CHECKING:
    from irkit.record.entry import Entry


class CheckpointTimestamped(Body):
    """A TSA's token over one signed checkpoint, recorded after it verified."""

    checkpoint: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    size: Annotated[int, Field(ge=1, le=2**53 - 1)]
    root: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    response: Annotated[str, StringConstraints(min_length=4, max_length=4 * MAX_RESPONSE // 3)]
    gen_time: Annotated[str, StringConstraints(min_length=27, max_length=27)]
    tsa: Annotated[str, StringConstraints(max_length=1024)]
    policy: Oid
    nonce: Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,77})$")]


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    seq: int
    size: int
    root: bytes
    note: bytes
    response: bytes
    nonce: int
    policy: str
    gen_time: str


def verify_rule(entry: Entry, ctx: Context) -> None:
    """During the walk: the recorded checkpoint is a member's, names what the body says and
    precedes this entry; the token itself is checked at the end (`check_timestamps`)."""
    from irkit.formats.ed25519 import PublicKey
    from irkit.formats.signednote import parse_checkpoint, parse_note, verify_note
    from irkit.record.roster import origin_for

    b = entry.body
    note = str(b["checkpoint"]).encode("utf-8")
    try:
        parsed = parse_note(note)
        cp = parse_checkpoint(parsed.text)
        response = base64.b64decode(str(b["response"]), validate=True)
    except (InputError, ValueError) as exc:
        ctx.problem(entry.seq, "timestamp", f"timestamp: malformed checkpoint or token ({exc})")
        return
    if cp.size != b["size"] or cp.root.hex() != b["root"]:
        ctx.problem(entry.seq, "timestamp", "timestamp: size/root differ from its checkpoint's")
        return
    if cp.size > entry.seq:
        ctx.problem(
            entry.seq, "timestamp", f"timestamp: its checkpoint covers {cp.size} entries, "
            "more than were written before it"
        )  # fmt: skip
        return
    if origin_for(ctx.roster) not in (None, cp.origin):
        ctx.problem(
            entry.seq, "timestamp", f"timestamp: checkpoint origin {cp.origin!r} is not this case's"
        )
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in ctx.roster.members.items()}
    if not verify_note(parsed, keys):
        ctx.problem(
            entry.seq, "timestamp", "timestamp: its checkpoint has no valid member signature"
        )
    if not is_utc_stamp(str(b["gen_time"])):
        ctx.problem(entry.seq, "timestamp", "timestamp: gen_time is not UTC with microseconds")
        return
    ctx.state.setdefault("timestamp", []).append(
        _Seen(
            entry.seq, cp.size, cp.root, note, response, int(b["nonce"]), str(b["policy"]),
            str(b["gen_time"]),
        )
    )  # fmt: skip


@dataclass(frozen=True)
class Coverage:
    timestamps: int  # tokens that verified
    timestamped: int  # leading entries the largest verified timestamp covers


def check_timestamps(
    ctx: Context,
    leaves: Sequence[bytes],
    entries: Sequence[Entry | None],
    roots: Sequence[Any] | None,
) -> Coverage:
    """After the walk: each recorded token verifies (to `roots`, or the case's pinned roots),
    its checkpoint is consistent with the journal, and no entry it covers was recorded after
    its genTime (plus the token's accuracy)."""
    from irkit.formats import merkle

    seen: list[_Seen] = ctx.state.get("timestamp", [])
    if not seen:
        return Coverage(0, 0)
    if roots is None:
        roots = pinned_roots(ctx.case_root) if ctx.case_root is not None else []
        if not roots:
            ctx.warn(
                None,
                "timestamp-unchecked",
                f"{len(seen)} timestamp token(s) not checked: no TSA root pinned in the case "
                "nor given with --tsa-root",
            )
            return Coverage(0, 0)
    # latest recorded time among the first k entries, for every k
    latest: list[str] = []
    top = ""
    for entry in entries:
        if entry is not None and entry.recorded > top:
            top = entry.recorded
        latest.append(top)
    good = 0
    covered = 0
    roots_by_size: dict[int, bytes] = {}
    for ts in seen:
        if ts.size > len(leaves):
            ctx.problem(
                ts.seq, "timestamp", f"timestamp: covers {ts.size} entries, journal holds fewer"
            )
            continue
        if ts.size not in roots_by_size:
            roots_by_size[ts.size] = merkle.root(leaves[: ts.size])
        if roots_by_size[ts.size] != ts.root:
            ctx.problem(
                ts.seq, "timestamp", f"timestamp: the first {ts.size} entries no longer hash "
                "to the timestamped checkpoint's root: history was rewritten"
            )  # fmt: skip
            continue
        try:
            token = check_response(ts.response, ts.note, ts.nonce, roots, ts.policy)
        except (ProblemsFound, InputError) as exc:
            ctx.problem(ts.seq, "timestamp", f"timestamp token: {exc.message}")
            continue
        if format_utc(token.gen_time) != ts.gen_time:
            ctx.problem(
                ts.seq, "timestamp", f"timestamp: gen_time {ts.gen_time} is not the token's"
            )
            continue
        good += 1
        covered = max(covered, ts.size)
        bound = format_utc(token.gen_time + token.slack)
        if latest[ts.size - 1] > bound:
            for entry in entries[: ts.size]:
                if entry is not None and entry.recorded > bound:
                    ctx.problem(
                        entry.seq,
                        "after-timestamp",
                        f"recorded {entry.recorded}, after the genTime {ts.gen_time} of the "
                        f"timestamp (entry {ts.seq}) over a checkpoint containing it",
                    )
    return Coverage(good, covered)


def summary(entry: Entry) -> str:
    from irkit.record.summary import plural

    b = entry.body
    size = plural(int(b.get("size", 0)), "entry", "entries")
    return f"checkpoint of {size} timestamped {b.get('gen_time')} by {b.get('tsa') or 'the TSA'}"


KIND_SPECS = (KindSpec(KIND, CheckpointTimestamped, verify_rule, summary),)
