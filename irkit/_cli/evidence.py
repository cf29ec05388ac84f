"""`irkit evidence`: collect files into the case, list, show and re-check them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_entry,
    print_json,
    tune_allocator,
)
from irkit.errors import InputError, ProblemsFound
from irkit.record.summary import plural

if TYPE_CHECKING:
    from irkit.record.entry import Entry


@click.group("evidence", cls=IrkitGroup)
def evidence_group() -> None:
    """Collected files: copied into the case store while hashed (SHA-256 and MD5), read
    back and verified, kept read-only, with where, when and by whom they were collected."""


@evidence_group.command("collect")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--description", help="What this is (e.g. 'auth logs from web-01').")
@click.option("--location", help="Where it was collected (site, room, rack).")
@click.option(
    "--source-host",
    metavar="HOST",
    help="The system the files come from (e.g. web-01); the collecting machine's own name "
    "is recorded too.",
)
@click.option("--serial", metavar="TEXT", help="The source's serial number (disk, laptop).")
@click.option("--model", metavar="TEXT", help="The source's make and model.")
@click.option(
    "--mac",
    "macs",
    multiple=True,
    metavar="MAC",
    help="A MAC address of the source, e.g. 00:1a:2b:3c:4d:5e (repeatable).",
)
@click.option(
    "--ip", "ips", multiple=True, metavar="IP", help="An IP address of the source (repeatable)."
)
@click.option(
    "--by-reference",
    is_flag=True,
    help="Too large to copy (disk images): hash in place and record the path.",
)
@click.option("--md5", is_flag=True, help="Also record MD5 (same read), for forms that ask.")
@click.option(
    "--confidential",
    is_flag=True,
    help="Paths and description name people or secrets: shared (--redact) reports show "
    "only their digests.",
)
@case_option
@key_options
@json_option
def collect_cmd(
    paths: tuple[Path, ...],
    description: str | None,
    location: str | None,
    source_host: str | None,
    serial: str | None,
    model: str | None,
    macs: tuple[str, ...],
    ips: tuple[str, ...],
    by_reference: bool,
    md5: bool,
    confidential: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Collect PATHS (files, or folders: one item per file, one signed entry)."""
    from irkit.evidence.collect import collect

    tune_allocator()
    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    entry = collect(
        case,
        signer,
        paths,
        description=description,
        location=location,
        by_reference=by_reference,
        md5=md5,
        confidential=confidential,
        source_host=source_host,
        serial=serial,
        model=model,
        macs=macs,
        ips=ips,
    )
    print_entry(entry, as_json, _collected_lines(entry))


def _collected_lines(entry: Entry) -> Iterator[str]:
    """The items collected, then the count; what was skipped goes to stderr as it comes."""
    for item in entry.body["items"]:
        yield f"{item['id']}  sha256:{item['sha256']}  {item['size']:>12,}  {item['path']}"
    for skip in entry.body.get("skipped", []):
        target = f" -> {skip['target']}" if skip.get("target") else ""
        echo(f"skipped {skip['what']}: {skip['path']}{target} (recorded, not collected)", err=True)
    skipped = len(entry.body.get("skipped", []))
    note = f", {plural(skipped, 'non-regular path')} recorded as skipped" if skipped else ""
    yield f"#{entry.seq} collected {plural(len(entry.body['items']), 'item')}{note}"


@evidence_group.command("list")
@case_option
@json_option
def list_cmd(case_dir: Path | None, as_json: bool) -> None:
    """Every item: id, size, SHA-256, original path."""
    from irkit.evidence.collect import inventory
    from irkit.evidence.source import source_of

    inv = inventory(open_case(case_dir).read_entries().entries)
    if as_json:
        print_json(
            [
                {"id": i.id, "seq": i.seq, **i.body, **source_of(i.collected)}
                | ({"reachable_at": i.moved[-1]["path"]} if i.moved else {})
                for i in inv.items.values()
            ]
        )
        return
    for item in inv.items.values():
        b = item.body
        echo(
            f"{item.id}  {b['size']:>12,}  sha256:{b['sha256']}  {b['path']}"
            + ("" if b["stored"] else "  (by reference)")
            + (f" now at {item.moved[-1]['path']}" if item.moved else "")
        )


@evidence_group.command("show")
@click.argument("item_id")
@case_option
@json_option
def show_cmd(item_id: str, case_dir: Path | None, as_json: bool) -> None:
    """All that is recorded about one item."""
    from irkit.evidence.collect import inventory
    from irkit.evidence.source import source_of
    from irkit.record.summary import names_from

    case = open_case(case_dir)
    entries = case.read_entries().entries
    item = inventory(entries).items.get(item_id)
    if item is None:
        raise InputError(f"no such item: {item_id}")
    names = names_from(entries)
    info = {
        "id": item.id,
        "collected_in": item.seq,
        "collected_at": item.collected.recorded,
        # where the verified copy lives (`irkit evidence export` copies it out)
        "stored_at": (
            str(case.store.path_for(item.body["sha256"])) if item.body["stored"] else None
        ),
        "collected_by": names.get(item.collected.actor, item.collected.actor),
        "collector_key": item.collected.actor,
        "source_host": item.collected.body.get("source_host"),
        **{k: v for k, v in source_of(item.collected).items() if k != "source_host"},
        "collector_host": item.collected.body["host"],
        "location": item.location,
        "description": item.description,
        **item.body,
    }
    from irkit.evidence import custody

    rows = custody.chain(entries, item_id) or []
    # by reference: where the original was last recorded reachable, and every relocation
    relocations = [
        {
            "seq": e.seq,
            "recorded": e.recorded,
            "by": names.get(e.actor, e.actor),
            "path": e.body["path"],
            "host": e.body["host"],
            "reason": e.body.get("reason"),
        }
        for e in item.relocations
    ]
    if not item.body["stored"]:
        info["reachable_at"] = relocations[-1]["path"] if relocations else item.body["path"]
    if as_json:
        print_json(dict(info, custody=rows, relocations=relocations))
        return
    from irkit.formats.timefmt import display

    for key, value in info.items():
        if value is not None:
            shown = f"{value:o}" if key == "mode" else value
            if key in ("collected_at", "mtime", "ctime", "atime"):
                shown = display(str(value))
            elif isinstance(value, list):
                shown = ", ".join(map(str, value))
            echo(f"{key + ':':15}{shown}")
    if relocations:
        echo("relocations:")
        echo(f"  collected at {item.body['path']} on {item.collected.body['host']}")
        for r in relocations:
            why = f" ({r['reason']})" if r["reason"] else ""
            echo(
                f"  #{r['seq']} {display(str(r['recorded']))} {r['by']} on {r['host']}: "
                f"{r['path']}{why}"
            )
    from irkit._cli.custody import echo_chain

    echo("custody:")
    echo_chain(rows, names)


@evidence_group.command("check")
@click.argument("item_ids", nargs=-1)
@case_option
@json_option
def check_cmd(item_ids: tuple[str, ...], case_dir: Path | None, as_json: bool) -> None:
    """Re-hash stored copies (and reachable originals collected by reference).

    Exit 1 naming each item that no longer matches.
    """
    from irkit.evidence.collect import check_items

    results = check_items(open_case(case_dir), item_ids)
    if as_json:
        print_json([{"id": i, "ok": p is None, "problem": p} for i, p in results])
    else:
        for item_id, problem in results:
            echo(f"{item_id}: {'OK' if problem is None else 'FAILED: ' + problem}")
    bad = [i for i, p in results if p is not None]
    if bad:
        raise ProblemsFound(f"{plural(len(bad), 'item')} failed: {', '.join(bad)}")


@evidence_group.command("relocate", short_help="Record where a by-reference original is now.")
@click.argument("item_id")
@click.argument(
    "path", type=click.Path(exists=True, dir_okay=False, readable=False, path_type=Path)
)
@click.option("--reason", help="Why it moved (e.g. 'copied to the lab NAS').")
@case_option
@key_options
@json_option
def relocate_cmd(
    item_id: str,
    path: Path,
    reason: str | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Record, as a signed entry, that ITEM (collected by reference) can now be reached at
    PATH. The file there is re-hashed first: one whose SHA-256 or size differs from the
    item's is refused (exit 1) and nothing is written. `verify` then re-hashes the item
    there; `evidence show` lists every location."""
    from irkit.evidence.relocate import relocate

    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    entry = relocate(case, signer, item_id, path, reason=reason)
    b = entry.body
    print_entry(
        entry,
        as_json,
        [f"#{entry.seq} {b['item']} now reachable at {b['path']} (SHA-256 re-checked)"],
    )


@evidence_group.command("export", short_help="Copy an item out of the store, verified.")
@click.argument("item_id")
@click.option(
    "-o",
    "--output",
    "dest",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the copy: a file, or a folder (the item keeps its original name).",
)
@click.option("--force", is_flag=True, help="Replace an existing file at the destination.")
@case_option
@json_option
def export_cmd(item_id: str, dest: Path, force: bool, case_dir: Path | None, as_json: bool) -> None:
    """Copy ITEM out of the store, verified: the bytes written must hash to the recorded
    SHA-256 (else nothing is left behind, exit 1). Written whole or not at all; an existing
    file is replaced only with --force. Work on the copy, never on the store (NIST SP
    800-86). Reading the store records nothing in the journal."""
    from irkit.evidence.collect import export_item

    done = export_item(open_case(case_dir), item_id, dest, force=force)
    if as_json:
        print_json(
            {"item": done.item, "path": str(done.path), "sha256": done.sha256, "size": done.size}
        )
        return
    echo(f"{done.item} -> {done.path}  sha256:{done.sha256} verified ({done.size:,} bytes)")
