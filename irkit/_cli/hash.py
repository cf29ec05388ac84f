"""`irkit hash`: hash files and trees without a case; audit a tree against a manifest."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator

import click

from irkit._cli._common import atomic_output, print_json, safe, warn
from irkit.errors import ProblemsFound

FORMATS = ("sha256sum", "hashdeep", "dfxml", "json", "csv")


def _show(path: bytes) -> str:
    return os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _progress() -> Callable[[int, int, int, int], None] | None:
    """A one-line progress display, only when stderr is a terminal (quiet when piped)."""
    if not sys.stderr.isatty():
        return None
    start = time.monotonic()
    last = [0.0]

    def show(done_bytes: int, files: int, total_bytes: int, total_files: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and files != total_files:
            return
        last[0] = now
        elapsed = max(now - start, 1e-6)
        rate = done_bytes / elapsed
        left = max(total_bytes - done_bytes, 0)
        eta = f"{left / rate:,.0f} s" if rate > 0 else "?"
        click.echo(
            f"\r{files:,}/{total_files:,} files, "
            f"{done_bytes / 1e6:,.1f}/{total_bytes / 1e6:,.1f} MB, "
            f"{rate / 1e6:,.0f} MB/s, ETA {eta}   ",
            err=True,
            nl=False,
        )

    return show


def _show_notes(notes: list[tuple[bool, str]]) -> None:
    if sys.stderr.isatty():
        click.echo("", err=True)  # end the progress line
    for is_trouble, text in notes:
        if is_trouble:
            warn(text)
        else:
            click.echo(safe(f"note: {text}"), err=True)


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-a",
    "--algorithms",
    default="sha256",
    show_default=True,
    help="Comma-separated digests, all from one read: md5,sha1,sha256,sha512,blake2b.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="sha256sum",
    show_default=True,
    help="sha256sum: checkable with `sha256sum -c` (or md5sum... "
    "for the first algorithm); hashdeep: `hashdeep -a -k FILE`; dfxml: DFXML fileobjects; "
    "json: irkit manifest with its own checksum; csv: path,path_encoding,size,digests.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the manifest here instead of standard output.",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Files hashed at once.")
@click.option("--follow-symlinks", is_flag=True, help="Hash what symlinks point to.")
@click.option(
    "--audit",
    "audit_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Compare PATHS with this manifest instead of printing one.",
)
@click.option("--json", "as_json", is_flag=True, help="Audit result as JSON.")
def hash_cmd(
    paths: tuple[str, ...],
    algorithms: str,
    fmt: str,
    out: str | None,
    jobs: int | None,
    follow_symlinks: bool,
    audit_file: str | None,
    as_json: bool,
) -> None:
    """Hash PATHS (files or folders, recursively) with several digests in one read.

    FIFOs, sockets and devices are skipped with a note, symlinks recorded but not followed
    unless asked; unreadable files and folders and files that change while being read are
    reported and make the exit code 1. With --audit, exit 0 only when every file matched and
    nothing is new, missing, moved or unread (a manifest's files under an unreadable folder
    count as unchecked, not missing).
    """
    from irkit.formats.timefmt import format_utc, system_clock
    from irkit.hashing import files as hashing
    from irkit.hashing import manifests

    chosen = hashing.check_algorithms(algorithms.split(","))
    expected: dict[bytes, str] = {}
    if audit_file is not None:
        from irkit.record.safefile import read_input

        algorithm, expected = manifests.load(read_input(audit_file, what="manifest"))
        chosen = (algorithm,)
    roots = [os.fsencode(p) for p in paths]
    records = hashing.iter_hash_paths(
        roots, chosen, jobs=jobs, follow_symlinks=follow_symlinks, progress=_progress()
    )
    click.get_current_context().call_on_close(records.close)  # on any error: workers stop
    notes: list[tuple[bool, str]] = []  # (is trouble, text), shown once the run is over

    def watched(absolute: bool = False) -> Iterator[hashing.FileRecord]:
        for r in records:
            if r.kind == "skipped" or (r.kind == "symlink" and not as_json):
                notes.append((False, f"{_show(r.path)}: {r.note}"))
            elif r.kind == "error" or r.note:
                notes.append((True, f"{_show(r.path)}: {r.note}"))
            if absolute:  # hashdeep records absolute paths: compare like with like
                r.path = os.path.abspath(r.path)
            yield r

    if audit_file is not None:
        absolute = bool(expected) and all(p.startswith(b"/") for p in expected)
        result = manifests.audit(expected, chosen[0], watched(absolute))
        _show_notes(notes)
        if as_json:
            print_json(
                {
                    "ok": result.ok,
                    "summary": result.summary(),
                    "changed": [_show(p) for p in result.changed],
                    "moved": [{"from": _show(a), "to": _show(b)} for a, b in result.moved],
                    "new": [_show(p) for p in result.new],
                    "missing": [_show(p) for p in result.missing],
                    "unreadable": [_show(r.path) for r in result.problems],
                    "unchecked": [_show(p) for p in result.unchecked],
                }
            )
        else:
            for label, items in (
                ("changed", result.changed),
                ("new", result.new),
                ("missing", result.missing),
                ("unchecked (in an unreadable folder)", result.unchecked),
            ):
                for p in items:
                    click.echo(safe(f"{label}: {_show(p)}"))
            for was, now in result.moved:
                click.echo(safe(f"moved: {_show(was)} -> {_show(now)}"))
            click.echo(", ".join(f"{k} {v}" for k, v in result.summary().items()))
        if not result.ok:
            raise ProblemsFound("audit found differences")
        return
    if fmt == "sha256sum":
        chunks = manifests.iter_sums(watched(), chosen[0])
    elif fmt == "hashdeep":
        chunks = manifests.iter_hashdeep(watched(), chosen, os.fsencode(os.getcwd()))
    elif fmt == "dfxml":
        chunks = manifests.iter_dfxml(watched(), chosen, format_utc(system_clock()))
    elif fmt == "csv":
        chunks = manifests.iter_csv(watched(), chosen)
    else:
        chunks = manifests.iter_json(watched(), chosen, roots, format_utc(system_clock()))
    if out is None:
        sys.stdout.buffer.writelines(chunks)  # written as hashed: a million files stream
        sys.stdout.flush()
    else:
        with atomic_output(out) as stream:  # all or nothing at OUT
            stream.writelines(chunks)
    _show_notes(notes)
    trouble = sum(1 for is_trouble, _ in notes if is_trouble)
    if trouble:
        from irkit.record.summary import plural

        raise ProblemsFound(f"{plural(trouble, 'path')} could not be hashed reliably")
