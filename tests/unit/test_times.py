"""Times are checked at the door (1970..9998 UTC), and readers cope with what an older
version let through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import format_zoned, parse_user_time, zoned_instant
from irkit.notes.notes import timeline
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, verify

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

OUT_OF_RANGE = [
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-12:00",
    "9999-01-01T00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:30+01:00",  # 1969 once the offset is applied
    "-99999999999d",
    "-999999999d",
    "0001-01-01T00:00",  # local zone: may overflow either way
]
GARBAGE = [
    "-99999999999999999s",
    "-" + "9" * 5000 + "d",
    "yesterday",
    "",
    "25:00",
    "2026-13-01",
    "-5x",
    "2026-11-22T14:05+25:00",
]
ACCEPTED = {
    "1970-01-01T00:00Z": datetime(1970, 1, 1, tzinfo=UTC),
    "9998-12-31T23:59:59Z": datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC),
    "-15m": datetime(2026, 11, 22, 11, 45, tzinfo=UTC),
    "+15m": datetime(2026, 11, 22, 12, 15, tzinfo=UTC),
    "+3d": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    "2026-11-22T14:05+01:00": datetime(2026, 11, 22, 13, 5, tzinfo=UTC),
}


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="out of range: irkit takes times from 1970"):
        parse_user_time(text, now=NOW)


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="invalid time"):
        parse_user_time(text, now=NOW)


@pytest.mark.parametrize(("text", "expected"), sorted(ACCEPTED.items()))
def test_in_range_is_accepted(text: str, expected: datetime) -> None:
    assert parse_user_time(text, now=NOW) == expected


def test_nothing_out_of_range_is_written() -> None:
    with pytest.raises(InputError):
        format_zoned(datetime(1, 1, 1, tzinfo=UTC))
    assert format_zoned(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-12:00", "x", "2026-01-01T00:00"]
)
def test_zoned_instant_never_overflows(text: str) -> None:
    assert zoned_instant(text) is None


@pytest.mark.parametrize(
    "args",
    [
        ("note", "add", "x", "--event-time", "0001-01-01T00:00+14:00"),
        ("note", "add", "x", "--event-time", "9999-12-31T23:59-12:00"),
        ("note", "add", "x", "--event-time=-99999999999d"),
        ("note", "correct", "2", "y", "--reason", "r", "--event-time", "0001-01-01T00:00+14:00"),
        ("case", "show", "--now", "0001-01-01T00:00+14:00"),
        ("case", "kpi", "--now=-99999999999d"),
        ("case", "followup", "schedule", "--due", "9999-12-31T23:59-12:00", "--note", "n"),
    ],
    ids=lambda a: "-".join(a[:2]) + ":" + a[-1][-12:],
)
def test_cli_refuses_with_one_line(
    irkit: Runner, case: Case, key_files: KeyFiles, args: tuple[str, ...]
) -> None:
    assert irkit("note", "add", "first", key=key_files.alice, case=case.root).exit_code == 0
    before = lines(case.root)
    out = irkit(*args, key=key_files.alice, case=case.root)
    assert out.exit_code == 2, out.output
    assert out.output.startswith("irkit: error:") and "out of range" in out.output, out.output
    assert len(out.output.strip().splitlines()) == 1
    assert lines(case.root) == before


@pytest.fixture
def old_times_case(case: Case, alice: Signer) -> Case:
    """Event times an older version accepted: they match the body pattern and verify."""
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-12:00"):
        case.append(alice, "note.added", {"text": f"at {when}", "event_time": when})
    case.append(alice, "note.added", {"text": "normal", "event_time": "2026-01-01T00:00:00Z"})
    return case


def test_readers_survive_old_out_of_range_times(
    irkit: Runner, old_times_case: Case, key_files: KeyFiles
) -> None:
    assert verify(old_times_case.root).ok
    items = timeline(old_times_case.read_entries().entries, {})
    assert [i.text for i in items][-3:] == [
        "normal",
        "at 0001-01-01T00:00:00+14:00",
        "at 9999-12-31T23:59:00-12:00",
    ]  # placed by their written time, after the 2026 note
    for command in (
        ("timeline",),
        ("log",),
        ("case", "show"),
        ("case", "kpi"),
        ("report", "-o", "r.pdf"),
    ):
        out = irkit(*command, key=key_files.alice, case=old_times_case.root)
        assert out.exit_code in (0, 1), (command, out.output)
        assert "Traceback" not in out.output
    shown = irkit("timeline", case=old_times_case.root).output
    assert "0001-01-01T00:00:00+14:00  #" in shown and "out of range" in shown


@pytest.mark.parametrize("template", ["incident", "custody", "backup-signoff"])
def test_reports_render_old_out_of_range_times(old_times_case: Case, template: str) -> None:
    from irkit.report.export import render

    pdf = render(old_times_case.read_entries().entries, template, False)
    assert pdf.startswith(b"%PDF")
    if template == "incident":  # shown as recorded, marked
        from irkit.report.cells import out_of_range

        assert out_of_range("0001-01-01T00:00:00+14:00") == "\n(out of range)"
        assert out_of_range("2026-01-01T00:00:00Z") == ""


def test_clocks_read_at_the_far_end_of_the_range(
    irkit: Runner, case: Case, key_files: KeyFiles
) -> None:
    """SLA arithmetic over 8,000 years: no OverflowError (permille in whole microseconds)."""
    for field in ("impact", "urgency"):
        out = irkit("case", "set", field, "1", "--reason", "r", key=key_files.alice, case=case.root)
        assert out.exit_code == 0, out.output
    for command in ("show", "kpi"):
        out = irkit("case", command, "--now", "9998-12-31T00:00Z", case=case.root)
        assert out.exit_code == 0, out.output
    assert "BREACHED" in irkit("case", "show", "--now", "9998-12-31T00:00Z", case=case.root).output


@pytest.mark.parametrize(
    ("zone", "holidays", "span"),
    [
        ("Europe/Berlin", ("2044-12-24", "2045-12-25", "2101-01-01"), (2030, 2140)),
        ("Australia/Sydney", (), (2090, 2135)),
        ("America/New_York", ("2039-07-04",), (2038, 2048)),
        ("UTC", (), (2026, 2150)),
        ("Africa/Casablanca", (), (2080, 2160)),
    ],
)
def test_business_time_by_the_year_is_exact(
    zone: str, holidays: tuple[str, ...], span: tuple[int, int]
) -> None:
    """Summing whole years (and years alike by rule once) gives exactly the day-by-day sum."""
    from datetime import date, timedelta

    from irkit.incident import sla

    office = ((8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600))
    cal = sla.Calendar(
        zone=zone,
        windows=(office,) * 5 + (((22 * 3600, 26 * 3600),), ()),  # a Saturday night shift
        holidays=frozenset(date.fromisoformat(h) for h in holidays),
    )
    start = datetime(span[0], 3, 5, 9, 30, tzinfo=UTC)
    end = datetime(span[1], 10, 30, 1, 15, tzinfo=UTC)
    tz = cal.tz()
    assert sla.business_time(cal, start, end) == sla._business_days(cal, tz, start, end)
    assert sla.business_time(cal, start, start + timedelta(days=400)) == sla._business_days(
        cal, tz, start, start + timedelta(days=400)
    )


def test_a_correction_does_not_copy_an_old_out_of_range_time(
    irkit: Runner, old_times_case: Case, key_files: KeyFiles
) -> None:
    seq = next(
        e.seq for e in old_times_case.read_entries().entries if "0001" in e.body.get("text", "")
    )
    before = lines(old_times_case.root)
    run = {"key": key_files.alice, "case": old_times_case.root}
    out = irkit("note", "correct", str(seq), "fixed", "--reason", "r", **run)
    assert out.exit_code == 2 and "--event-time" in out.output, out.output
    assert lines(old_times_case.root) == before
    fixed = irkit("note", "correct", str(seq), "fixed", "--reason", "r", "-t", "-1h", **run)
    assert fixed.exit_code == 0, fixed.output
