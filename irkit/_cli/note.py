"""`irkit note` and `irkit timeline`.

Longer than ~500 lines: `note` and `timeline` share the filters and the note lines
(`_filter_options`, `_selected`, `_timeline_lines`); one module per command group.
"""

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
    print_entry,
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


def _event_time(value: str | None, future: bool = False) -> datetime | None:
    """An event time as typed; one ahead of now is refused unless --future (a note
    records what happened, so a future time is almost always a slip)."""
    if value is None:
        return None
    from irkit.formats.timefmt import check_past, parse_user_time

    moment = parse_user_time(value)
    return moment if future else check_past(moment, value)


_FUTURE_HELP = "Allow an event time ahead of now (more than 5 minutes), e.g. a planned cut-over."


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
        "from 1970 to 9998 (UTC). Default: now. A local time the clocks skip or show "
        "twice (DST) needs its offset."
    ),
)
@click.option("--future", is_flag=True, help=_FUTURE_HELP)
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
    help="Fill a checklist: a NAME (see `irkit note templates`; yours in "
    "$IRKIT_HOME/templates/notes/) or a PATH.toml; asks each field in turn.",
)
@click.option(
    "--from-file",
    "answers_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Template answers from a file (`name: value` lines or TOML), for scripts.",
)
@click.option(
    "--push",
    is_flag=True,
    help="Then sync with the case's remote (publishing is otherwise `irkit sync`'s job).",
)
@case_option
@key_options
@json_option
def note_add_cmd(
    text: str | None,
    event_time: str | None,
    future: bool,
    tags: tuple[str, ...],
    attach: tuple[Path, ...],
    confidential: bool,
    links: tuple[str, ...],
    starred: bool,
    template: str | None,
    answers_file: Path | None,
    push: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Add a note. TEXT, or `-` for standard input, or nothing to open $EDITOR.

    With --template NAME, answer the checklist instead (TEXT becomes an optional remark).
    """
    from irkit.notes.notes import add_note, note_extras

    case = open_case(case_dir)
    when = _event_time(event_time, future)
    fields: list[dict[str, str]] = []
    if answers_file is not None and template is None:
        raise InputError("--from-file goes with --template NAME")
    if template is not None:
        body, fields, template_tags = _template_note(template, answers_file, text)
        tags = tags + template_tags
        if template.endswith(".toml") or "/" in template:  # a file: the note records its name
            template = Path(template).stem
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
    from irkit.formats.timefmt import display

    print_entry(entry, as_json, [f"#{entry.seq} note recorded {display(entry.recorded)}"])
    if push:  # opt-in: the quick path above never touches the network
        from irkit.remote.sync import sync

        result = sync(case, signer=signer)
        if not as_json:
            click.echo(
                f"synced with {result.remote}: published {result.published}, "
                f"{result.unpublished} unpublished",
                err=True,
            )


def _template_note(
    name: str, answers_file: Path | None, remark: str | None
) -> tuple[str, list[dict[str, str]], tuple[str, ...]]:
    from irkit.notes import templates

    tpl = templates.load(name)
    answers: dict[str, str] | None = None
    ask = None
    if answers_file is not None:
        from irkit.record.safefile import read_input_text

        raw = read_input_text(answers_file, what="answers file")
        answers = templates.answers_from_text(raw)
    elif sys.stdin.isatty():
        click.echo(f"{tpl.title}: {tpl.description}", err=True)

        def ask(f: templates.TemplateField) -> str:
            value: str = click.prompt(
                f.label, default="" if not f.required else None, show_default=False, err=True
            )
            return value
    else:
        raise InputError("--template needs a terminal to ask, or --from-file ANSWERS")
    fields = templates.fill(tpl, answers, ask)
    text = templates.render(tpl, fields)
    if remark and remark != "-":
        text += f"\n\n{remark}"
    return text, fields, tpl.tags


@note_group.command("templates")
def note_templates_cmd() -> None:
    """List the note templates (checklists) you can fill with `note add --template NAME`."""
    from irkit.notes import templates

    for name in templates.available():
        tpl = templates.load(name)
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
    from irkit.notes.notes import witness_note

    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    entry = witness_note(case, signer, seq, statement=statement)
    print_entry(entry, as_json, [f"#{entry.seq} witnessed note #{seq}"])


@note_group.command("correct", short_help="Correct a note (a new entry; the original stays).")
@click.argument("seq", type=int)
@click.argument("text", required=False)
@click.option("--reason", required=True, help="Why the note is corrected.")
@click.option(
    "--event-time", "-t", help="Corrected event time, 1970..9998 UTC (default: the original's)."
)
@click.option("--future", is_flag=True, help=_FUTURE_HELP)
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
    future: bool,
    attach: tuple[Path, ...],
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Correct note SEQ: a new entry; the original stays, shown struck through.

    TEXT is the whole corrected note. When SEQ was already corrected, the correction
    supersedes its latest version (and says so), so a note has one current version.
    """
    from irkit.notes.notes import correct_note

    case = open_case(case_dir)
    when = _event_time(event_time, future)
    signer = load_signer(key_path, passphrase_file)
    entry = correct_note(
        case, signer, seq, _note_text(text), reason=reason, event_time=when, attach=attach
    )
    target = entry.body["corrects"]
    latest = "" if target == seq else f" (the latest version of #{seq}, already corrected)"
    print_entry(entry, as_json, [f"#{entry.seq} corrects #{target}{latest}"])


def _filter_options(func: Any) -> Any:
    """--tag, --author, --since: the filters every note listing takes."""
    func = click.option(
        "--since",
        help="Only notes whose event time is at or after this (2026-11-22, 14:05, -2h).",
    )(func)
    func = click.option(
        "--author",
        help="Only notes by this member: name, fingerprint prefix (8+ hex) or fingerprint.",
    )(func)
    return click.option(
        "--tag", "tags", multiple=True, help="Only notes with this tag (repeatable: all of them)."
    )(func)


def _selected(
    case_dir: Path | None,
    *,
    text: str | None = None,
    tags: tuple[str, ...] = (),
    author: str | None = None,
    since: str | None = None,
    current_only: bool = False,
) -> tuple[list[Any], list[Any]]:
    """(the notes that match, every note): the timeline, filtered."""
    from irkit.formats.timefmt import parse_user_time
    from irkit.notes.notes import note_authors, select_notes, timeline
    from irkit.record.summary import names_from

    entries = open_case(case_dir).read_entries().entries
    items = timeline(entries, names_from(entries))
    chosen = select_notes(
        items,
        text=text,
        tags=tags,
        authors=note_authors(entries, author) if author is not None else None,
        since=parse_user_time(since) if since is not None else None,
        current_only=current_only,
    )
    return chosen, items


def _none_match(items: list[Any], tags: tuple[str, ...]) -> str:
    if not items:
        return "no notes yet"
    used = sorted({t for i in items for t in i.tags})
    known = f" (tags in use: {', '.join(used) if used else 'none'})" if tags else ""
    return f"no notes match{known}"


@click.command("timeline")
@_filter_options
@case_option
@json_option
def timeline_cmd(
    tags: tuple[str, ...],
    author: str | None,
    since: str | None,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Notes in event-time order, with the time each was written and by whom."""
    from dataclasses import asdict

    from irkit.record.case import Case
    from irkit.remote.state import PublicationIndex

    chosen, items = _selected(case_dir, tags=tags, author=author, since=since)
    pubs = PublicationIndex(Case.find(case_dir, Path.cwd()).root)  # local state, no network
    if as_json:
        rows = [asdict(i) for i in chosen]
        if pubs.configured:
            for row, item in zip(rows, chosen, strict=True):
                pub = pubs.of(item.seq)
                row["published"], row["published_at"] = pub.published, pub.time
        print_json(rows)
        return
    if not chosen:
        click.echo(_none_match(items, tags))
        return
    for item in chosen:
        lines = _timeline_lines(item)
        if pubs.configured:
            pub = pubs.of(item.seq)
            lines[0] += "  [unpublished]" if not pub.published else ""
            if pub.published and pub.time:
                from irkit.formats.timefmt import display

                lines[1] += f"  published {display(pub.time)}"
        for line in lines:
            click.echo(safe(line))


def _list_line(item: Any) -> str:
    from irkit.formats.timefmt import display

    first = item.text.strip().split("\n", 1)[0]
    first = first if len(first) <= 60 else first[:59] + "…"
    tags = f"  [{', '.join(item.tags)}]" if item.tags else ""
    mark = ""
    if item.corrected_by:
        mark = f"  (superseded by #{item.corrected_by[-1]})"
    elif item.corrects is not None:
        mark = f"  (corrects #{item.corrects})"
    return f"#{item.seq:<5} {display(item.event_time)}  {item.author:<16} {first}{tags}{mark}"


def _list_notes(chosen: list[Any], items: list[Any], tags: tuple[str, ...], as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        print_json([asdict(i) for i in chosen])
        return
    if not chosen:
        click.echo(_none_match(items, tags))
        return
    for item in chosen:
        click.echo(safe(_list_line(item)))


@note_group.command("list", short_help="One line per note; filter by tag, author, time.")
@_filter_options
@click.option("--all", "show_all", is_flag=True, help="Also versions a correction superseded.")
@case_option
@json_option
def note_list_cmd(
    tags: tuple[str, ...],
    author: str | None,
    since: str | None,
    show_all: bool,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """One line per note, by event time: seq, event time, author, first line, tags.

    Only current versions unless --all; `irkit note show SEQ` shows one note whole.
    """
    chosen, items = _selected(
        case_dir, tags=tags, author=author, since=since, current_only=not show_all
    )
    _list_notes(chosen, items, tags, as_json)


@note_group.command("search", short_help="Notes containing TEXT (any case).")
@click.argument("text")
@_filter_options
@click.option("--all", "show_all", is_flag=True, help="Also versions a correction superseded.")
@case_option
@json_option
def note_search_cmd(
    text: str,
    tags: tuple[str, ...],
    author: str | None,
    since: str | None,
    show_all: bool,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Notes whose text contains TEXT (any case), one line each, by event time.

    Only current versions unless --all (a typo fixed by a correction is found in the old
    version with --all). Exit 1 when none match, as grep does.
    """
    from irkit.errors import ProblemsFound

    if not text.strip():
        raise InputError("give some TEXT to search for")
    chosen, items = _selected(
        case_dir, text=text, tags=tags, author=author, since=since, current_only=not show_all
    )
    if not chosen and not as_json:
        raise ProblemsFound(_none_match(items, tags))
    _list_notes(chosen, items, tags, as_json)
    if not chosen:
        raise ProblemsFound("no notes match")


@note_group.command("show", short_help="One note whole: text, times, corrections, witnesses.")
@click.argument("seq", type=int)
@case_option
@json_option
def note_show_cmd(seq: int, case_dir: Path | None, as_json: bool) -> None:
    """Note SEQ whole: text, times, author, tags, attachments, links, corrections, witnesses."""
    from dataclasses import asdict

    _, items = _selected(case_dir)
    found = [i for i in items if i.seq == seq]
    if not found:
        from irkit.notes.notes import NOTE_KINDS

        raise InputError(
            f"entry {seq} is not a note ({', '.join(NOTE_KINDS)}); `irkit note list` shows them"
        )
    if as_json:
        print_json(asdict(found[0]))
        return
    for line in _timeline_lines(found[0]):
        click.echo(safe(line))


def _timeline_lines(item: Any) -> list[str]:
    """One note of the timeline; each line is escaped by the caller, so a note's own newlines
    (split here on line feeds only) can only ever make indented `|` continuation lines."""
    mark = "" if item.event_time_given else " (no event time given)"
    if item.event_time_given and not item.event_time_in_range:
        mark = " (event time as recorded, out of range: placed by its written time)"
    from irkit.formats.timefmt import display

    when = display(item.event_time) if item.event_time_in_range else item.event_time
    out = [f"{when}  #{item.seq}  {item.author}{mark}"]
    out.append(
        f"    written {display(item.recorded)}"
        + (f"  tags: {', '.join(item.tags)}" if item.tags else "")
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
