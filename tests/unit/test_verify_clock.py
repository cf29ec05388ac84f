"""verify's "recorded time goes backwards" warning is per signer: a team journal
interleaves several clocks (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case
from tests.helpers import verify

T0 = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def _at(offset_minutes: float) -> Callable[[], datetime]:
    """A clock stopped at T0 + `offset_minutes`."""
    return lambda: T0 + timedelta(minutes=offset_minutes)


def _clock_warnings(case: Case) -> list[int | None]:
    report = verify(case.root, content=False)
    assert report.ok, report.problems
    return [w.seq for w in report.warnings if w.code == "clock"]


def test_interleaved_clocks_of_two_members_are_not_a_warning(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    # Bob's laptop runs 10 minutes behind Alice's; each clock only moves forward
    for n in range(3):
        add_note(case, alice, f"alice {n}", clock=_at(60 + n))
        add_note(case, bob, f"bob {n}", clock=_at(50 + n))
    assert _clock_warnings(case) == []


def test_one_members_clock_going_backwards_is_still_a_warning(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    add_note(case, alice, "alice first", clock=_at(60))
    add_note(case, bob, "bob", clock=_at(50))
    back = add_note(case, alice, "alice's clock was set back", clock=_at(55))
    report = verify(case.root, content=False)
    warned = [w for w in report.warnings if w.code == "clock"]
    assert [w.seq for w in warned] == [back.seq]
    assert alice.fingerprint[:24] in warned[0].message
