"""`irkit demo`: the whole workflow on bundled example data, in a new folder.

Demo keys are unencrypted and labelled as such; they must never sign a real case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from irkit.audit.verify import VerifyReport, verify_case
from irkit.errors import InputError
from irkit.formats import ed25519
from irkit.formats.timefmt import Clock, format_utc
from irkit.notes.notes import add_note, correct_note
from irkit.record import checkpoints, keyfiles
from irkit.record.case import Case, add_member, init_case


@dataclass
class DemoContext:
    """What an extension step of the demo gets: the case, the two demo signers, a scratch
    folder for example data, the clock, and `steps` to describe what it did."""

    root: Path
    case: Case
    signers: dict[str, ed25519.Signer]
    files: Path
    clock: Clock
    steps: list[str]


# The chapters, in order: each runs after the notes and before the checkpoint and the final
# verification; the FINAL ones get the verified case too (the report). Each loader imports
# its chapter when the demo runs (the chapters import this module).
def _evidence() -> Chapter:
    from irkit.demo import evidence

    return evidence.demo_step


def _lifecycle() -> Chapter:
    from irkit.demo import lifecycle

    return lifecycle.demo_step


def _backup() -> Chapter:
    from irkit.demo import backup

    return backup.demo_step


def _team() -> Chapter:
    from irkit.demo import team

    return team.demo_step


def _report() -> FinalChapter:
    from irkit.demo import report

    return report.demo_step


Chapter = Callable[[DemoContext], None]
FinalChapter = Callable[[DemoContext, "VerifyReport"], None]
DEMO_STEPS: list[Callable[[], Chapter]] = [_evidence, _lifecycle, _backup, _team]
FINAL_STEPS: list[Callable[[], FinalChapter]] = [_report]


@dataclass
class DemoResult:
    root: Path
    case_dir: Path
    key_files: dict[str, Path]
    fingerprints: dict[str, str]
    checkpoint_file: Path
    report: VerifyReport
    steps: list[str] = field(default_factory=list)


class DemoClock:
    """The demo's story clock, used by `irkit demo` only: the incident unfolds over three
    working days (Monday 09:05 to Wednesday, Europe/Berlin, two weeks before the real date)
    so its report shows real SLA clocks, a breach, a pause and a timeline. Each reading moves
    on a few seconds; chapters jump to the story's next moment with `advance_to`. The case
    says that its times are simulated (its first note)."""

    ZONE = "Europe/Berlin"

    def __init__(self, real_now: datetime | None = None) -> None:
        from zoneinfo import ZoneInfo

        real = (real_now or datetime.now(UTC)).astimezone(ZoneInfo(self.ZONE))
        monday = (real - timedelta(days=real.weekday() + 14)).date()
        self.day0 = datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(self.ZONE))
        self.now = self.day0.replace(hour=9, minute=5).astimezone(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now

    def advance_to(self, day: int, hour: int, minute: int) -> None:
        """Move to day `day` (0 = Monday) at hour:minute in the desk's zone, never back."""
        target = (self.day0 + timedelta(days=day)).replace(hour=hour, minute=minute)
        self.now = max(self.now, target.astimezone(UTC))


def story(ctx: DemoContext, day: int, hour: int, minute: int) -> None:
    """A chapter's next moment on the demo clock (nothing when run with another clock)."""
    advance = getattr(ctx.clock, "advance_to", None)
    if advance is not None:
        advance(day, hour, minute)


def _example(name: str) -> bytes:
    return resources.files("irkit.examples").joinpath("demo", name).read_bytes()


def run_demo(root: Path, *, clock: Clock | None = None) -> DemoResult:
    """The whole workflow on example data; `clock` defaults to the demo's story clock."""
    clock = clock if clock is not None else DemoClock()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError(f"{root} exists and is not empty: the demo writes into a new folder")
    root.mkdir(parents=True, exist_ok=True)
    steps: list[str] = []
    key_dir = root / "demo-keys"
    alice = ed25519.generate("Alice Example (DEMO KEY)", "lead")
    bob = ed25519.generate("Bob Example (DEMO KEY)", "responder")
    key_files = {"alice": key_dir / "alice.key", "bob": key_dir / "bob.key"}
    created = format_utc(clock())
    keyfiles.write_key_file(key_files["alice"], alice, None, created=created)
    keyfiles.write_key_file(key_files["bob"], bob, None, created=created)
    steps.append(f"created two unencrypted DEMO keys in {key_dir}")

    case_dir = root / "case"
    case = init_case(
        case_dir,
        title="Demo: suspicious logins on web-01",
        case_id="DEMO-0001",
        signer=alice,
        contact="+1 555 0100 (DEMO), alice@example.org",
        clock=clock,
    )
    add_member(case, alice, bob.public, name=bob.name, role="responder",
               contact="bob@example.org (DEMO)", clock=clock)  # fmt: skip
    steps.append(f"opened case DEMO-0001 in {case_dir}; Alice added Bob as responder")

    files = root / "collected"
    files.mkdir()
    for name in ("auth.log", "crontab.txt"):
        (files / name).write_bytes(_example(name))
    if isinstance(clock, DemoClock):
        add_note(
            case,
            alice,
            "DEMO CASE: the times in this case are simulated by irkit demo's clock, which "
            "spreads the story over three working days (Monday to Wednesday, two weeks "
            f"before it ran on {datetime.now(UTC):%Y-%m-%d}), so that SLA clocks, a breach "
            "and a pause show; they are not when anything happened.",
            tags=["demo"],
            clock=clock,
        )
    base = clock().astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=80)
    at = _offsets(base)
    add_note(
        case,
        alice,
        "Help desk call from the web team: unexpected root crontab change on "
        "web-01 noticed during a deploy.",
        event_time=at(0),
        tags=["triage"],
        clock=clock,
    )
    add_note(
        case,
        bob,
        "On site. web-01 is powered on and reachable; console locked. Did not "
        "reboot. Photographed the rack label.",
        event_time=at(25),
        tags=["onsite"],
        clock=clock,
    )
    wrong = add_note(
        case,
        bob,
        "Copied /var/log/auth.log: successful ssh login for `deploy` from 203.0.113.54.",
        event_time=at(40),
        tags=["logs"],
        attach=[files / "auth.log"],
        clock=clock,
    )
    correct_note(
        case,
        bob,
        wrong.seq,
        "Copied /var/log/auth.log: successful ssh login for "
        "`deploy` from 203.0.113.45 (typo in the address corrected).",
        reason="source address mistyped",
        clock=clock,
    )
    add_note(
        case,
        alice,
        "Root crontab fetches and runs a remote script every 10 minutes.",
        event_time=at(55),
        tags=["persistence"],
        attach=[files / "crontab.txt"],
        clock=clock,
    )
    add_note(
        case,
        alice,
        "Customer contact for escalation: on-call manager (private number "
        "withheld from shared reports).",
        event_time=at(60),
        confidential=True,
        clock=clock,
    )
    steps.append("wrote 6 notes: one with the auth log attached, one corrected, one confidential")

    ctx = DemoContext(root, case, {"alice": alice, "bob": bob}, files, clock, steps)
    for chapter in DEMO_STEPS:
        chapter()(ctx)

    kept = root / "kept-checkpoint.txt"
    issued = checkpoints.issue(case, alice, copy_to=kept)
    steps.append(f"signed a checkpoint ({issued.checkpoint.size} entries), kept a copy in {kept}")

    report = verify_case(case_dir, trust=[alice.fingerprint], checkpoints=[kept])
    steps.append(
        "verified the case against Alice's fingerprint and the kept checkpoint: "
        + ("VERIFIED" if report.ok else "FAILED")
    )
    for final in FINAL_STEPS:
        final()(ctx, report)
    return DemoResult(
        root,
        case_dir,
        key_files,
        {"alice": alice.fingerprint, "bob": bob.fingerprint},
        kept,
        report,
        steps,
    )


def _offsets(base: datetime) -> Callable[[int], datetime]:
    def at(minutes: int) -> datetime:
        return base + timedelta(minutes=minutes)

    return at
