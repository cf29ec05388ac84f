"""`irkit note` and `irkit timeline`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    has_surrogates,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
    safe,
)
from irkit.errors import InputError


def _note_text(text: str | None) -> str:
    if text == "-":
        try:
            read = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise InputError("standard input is not valid UTF-8; no note written") from exc
        if has_surrogates(read):
            raise InputError("standard input is not valid UTF-8; no note written")
        return read
    if text is not None:
        return text
    if not sys.stdin.isatty():
        raise InputError(
            "no note text: give TEXT, `-` to read standard input, or run in a terminal"
        )
    from irkit.childenv import secrets_hidden

    with secrets_hidden():  # $EDITOR is someone else's program: no passphrase for it
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
    help=(
        "When it happened: 2026-11-22T14:05+01:00, 14:05 (today, local), or -15m; "
        "from 1970 to 9998 (UTC). Default: now."
    ),
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
@click.option(
    "--link", "links", multiple=True, help="Evidence item this note is about, e.g. E-0001."
)
@click.option(
    "--include",
    "--star",
    "starred",
    is_flag=True,
    help="Mark the note for the report's summary.",
)
@click.option(
    "--template",
    help="Fill a checklist (see `irkit note templates`): asks each field in turn.",
)
@click.option(
    "--from-file",
    "answers_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Template answers from a file (`name: value` lines or TOML), for scripts.",
)
@case_option
@key_options
@json_option
def note_add_cmd(
    text: str | None,
    event_time: str | None,
    tags: tuple[str, ...],
    attach: tuple[Path, ...],
    confidential: bool,
    links: tuple[str, ...],
    starred: bool,
    template: str | None,
    answers_file: Path | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Add a note. TEXT, or `-` for standard input, or nothing to open $EDITOR.

    With --template NAME, answer the checklist instead (TEXT becomes an optional remark).
    """
    from irkit.notes import add_note, note_extras

    case = open_case(case_dir)
    when = _event_time(event_time)
    fields: list[dict[str, str]] = []
    if answers_file is not None and template is None:
        raise InputError("--from-file goes with --template NAME")
    if template is not None:
        body, fields, template_tags = _template_note(template, answers_file, text)
        tags = tags + template_tags
    extra = note_extras(links, starred, template, fields)
    signer = load_signer(key_path, passphrase_file)
    if template is None:
        body = _note_text(text)
    entry = add_note(
        case,
        signer,
        body,
        event_time=when,
        tags=tags,
        attach=attach,
        confidential=confidential,
        extra=extra,
    )
    if as_json:
        print_json(entry.to_json())
        return
    click.echo(f"#{entry.seq} note recorded {entry.recorded}")


def _template_note(
    name: str, answers_file: Path | None, remark: str | None
) -> tuple[str, list[dict[str, str]], tuple[str, ...]]:
    from irkit import notetemplates

    tpl = notetemplates.load(name)
    answers: dict[str, str] | None = None
    ask = None
    if answers_file is not None:
        try:
            raw = answers_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read answers file {answers_file}") from exc
        answers = notetemplates.answers_from_text(raw)
    elif sys.stdin.isatty():
        click.echo(f"{tpl.title}: {tpl.description}", err=True)

        def ask(f: notetemplates.TemplateField) -> str:
            value: str = click.prompt(
                f.label, default="" if not f.required else None, show_default=False, err=True
            )
            return value
    else:
        raise InputError("--template needs a terminal to ask, or --from-file ANSWERS")
    fields = notetemplates.fill(tpl, answers, ask)
    text = notetemplates.render(tpl, fields)
    if remark and remark != "-":
        text += f"\n\n{remark}"
    return text, fields, tpl.tags


@note_group.command("templates")
def note_templates_cmd() -> None:
    """List the note templates (checklists) you can fill with `note add --template NAME`."""
    from irkit import notetemplates

    for name in notetemplates.available():
        tpl = notetemplates.load(name)
        click.echo(safe(f"{name:<20} {tpl.title}"))


@note_group.command("witness")
@click.argument("seq", type=int)
@click.option(
    "--statement",
    default="I was present and this note is accurate.",
    show_default=True,
    help="What you attest.",
)
@case_option
@key_options
@json_option
def note_witness_cmd(
    seq: int,
    statement: str,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Countersign note SEQ as a second responder (a new signed entry; not the author)."""
    from irkit.notes import witness_note

    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    entry = witness_note(case, signer, seq, statement=statement)
    if as_json:
        print_json(entry.to_json())
        return
    click.echo(f"#{entry.seq} witnessed note #{seq}")


@note_group.command("correct")
@click.argument("seq", type=int)
@click.argument("text", required=False)
@click.option("--reason", required=True, help="Why the note is corrected.")
@click.option(
    "--event-time", "-t", help="Corrected event time, 1970..9998 UTC (default: the original's)."
)
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
    items = timeline(result.entries, names_from(result.entries))
    if as_json:
        print_json([asdict(i) for i in items])
        return
    if not items:
        click.echo("no notes yet")
        return
    for item in items:
        for line in _timeline_lines(item):
            click.echo(safe(line))


def _timeline_lines(item: Any) -> list[str]:
    """One note of the timeline; each line is escaped by the caller, so a note's own newlines
    (split here on line feeds only) can only ever make indented `|` continuation lines."""
    mark = "" if item.event_time_given else " (no event time given)"
    if item.event_time_given and not item.event_time_in_range:
        mark = " (event time as recorded, out of range: placed by its written time)"
    out = [f"{item.event_time}  #{item.seq}  {item.author}{mark}"]
    out.append(
        f"    written {item.recorded}" + (f"  tags: {', '.join(item.tags)}" if item.tags else "")
    )
    if item.corrects is not None:
        out.append(f"    corrects #{item.corrects}: {item.reason}")
    if item.corrected_by:
        refs = ", ".join(f"#{s}" for s in item.corrected_by)
        out.append(f"    SUPERSEDED by {refs} (kept as written)")
    text = item.text.replace("\r\n", "\n").removesuffix("\n")
    out.extend(f"    | {line}" for line in text.split("\n"))
    for att in item.attachments:
        out.append(f"    attached {att['name']} sha256:{att['sha256']} ({att['size']} bytes)")
    if item.links:
        out.append(f"    about evidence {', '.join(item.links)}")
    if item.starred:
        out.append("    * starred for the report summary")
    for wseq, wname in item.witnessed_by:
        out.append(f"    witnessed by {wname} (#{wseq})")
    return out
