"""`irkit note` and `irkit timeline`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
    report_torn,
)
from irkit.errors import InputError


def _note_text(text: str | None) -> str:
    if text == "-":
        return sys.stdin.read()
    if text is not None:
        return text
    if not sys.stdin.isatty():
        raise InputError(
            "no note text: give TEXT, `-` to read standard input, or run in a terminal"
        )
    edited = click.edit("\n# Write the note above. Lines starting with # are dropped.\n")
    if edited is None:
        raise InputError("editor closed without saving: no note written")
    return "\n".join(ln for ln in edited.splitlines() if not ln.startswith("#")).strip()


def _event_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    from irkit.timefmt import parse_user_time

    return parse_user_time(value)


@click.group("note", cls=IrkitGroup)
def note_group() -> None:
    """Signed, timestamped notes: what you saw and did, as you go.

    Each note has two times: when it happened (--event-time) and when you wrote it (the
    entry's own time). Notes are never edited: `irkit note correct` adds a correction.
    """


@note_group.command("add")
@click.argument("text", required=False)
@click.option(
    "--event-time",
    "-t",
    help="When it happened: 2026-11-22T14:05+01:00, 14:05 (today, local), or -15m. Default: now.",
)
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file to hash and keep with the note (repeatable).",
)
@click.option("--confidential", is_flag=True, help="Redact this note in shared reports.")
@case_option
@key_options
@json_option
def note_add_cmd(
    text: str | None,
    event_time: str | None,
    tags: tuple[str, ...],
    attach: tuple[Path, ...],
    confidential: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Add a note. TEXT, or `-` for standard input, or nothing to open $EDITOR."""
    from irkit.notes import add_note

    case = open_case(case_dir)
    when = _event_time(event_time)
    signer = load_signer(key_path, passphrase_file)
    body = _note_text(text)
    entry = add_note(
        case,
        signer,
        body,
        event_time=when,
        tags=tags,
        attach=attach,
        confidential=confidential,
    )
    if as_json:
        print_json(entry.to_json())
        return
    click.echo(f"#{entry.seq} note recorded {entry.recorded}")


@note_group.command("correct")
@click.argument("seq", type=int)
@click.argument("text", required=False)
@click.option("--reason", required=True, help="Why the note is corrected.")
@click.option("--event-time", "-t", help="Corrected event time (default: the original's).")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file to attach.",
)
@case_option
@key_options
@json_option
def note_correct_cmd(
    seq: int,
    text: str | None,
    reason: str,
    event_time: str | None,
    attach: tuple[Path, ...],
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Correct note SEQ: a new entry; the original stays, shown struck through."""
    from irkit.notes import correct_note

    case = open_case(case_dir)
    when = _event_time(event_time)
    signer = load_signer(key_path, passphrase_file)
    entry = correct_note(
        case, signer, seq, _note_text(text), reason=reason, event_time=when, attach=attach
    )
    if as_json:
        print_json(entry.to_json())
        return
    click.echo(f"#{entry.seq} corrects #{seq}")


@click.command("timeline")
@case_option
@json_option
def timeline_cmd(case_dir: Path | None, as_json: bool) -> None:
    """Notes in event-time order, with the time each was written and by whom."""
    from dataclasses import asdict

    from irkit.notes import timeline
    from irkit.summary import names_from

    case = open_case(case_dir)
    result = case.read_entries()
    report_torn(result.torn)
    items = timeline(result.entries, names_from(result.entries))
    if as_json:
        print_json([asdict(i) for i in items])
        return
    if not items:
        click.echo("no notes yet")
        return
    for item in items:
        mark = "" if item.event_time_given else " (no event time given)"
        click.echo(f"{item.event_time}  #{item.seq}  {item.author}{mark}")
        click.echo(
            f"    written {item.recorded}"
            + (f"  tags: {', '.join(item.tags)}" if item.tags else "")
        )
        if item.corrects is not None:
            click.echo(f"    corrects #{item.corrects}: {item.reason}")
        if item.corrected_by:
            refs = ", ".join(f"#{s}" for s in item.corrected_by)
            click.echo(f"    SUPERSEDED by {refs} (kept as written)")
        for line in item.text.splitlines() or [""]:
            click.echo(f"    | {line}")
        for att in item.attachments:
            click.echo(f"    attached {att['name']} sha256:{att['sha256']} ({att['size']} bytes)")
