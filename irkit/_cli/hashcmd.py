"""`irkit hash`: hash files and trees without a case; audit a tree against a manifest."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from irkit._cli._common import print_json, warn
from irkit.errors import InputError, ProblemsFound

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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the manifest here instead of standard output.",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Files hashed at once.")
@click.option("--follow-symlinks", is_flag=True, help="Hash what symlinks point to.")
@click.option(
    "--audit",
    "audit_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Compare PATHS with this manifest instead of printing one.",
)
@click.option("--json", "as_json", is_flag=True, help="Audit result as JSON.")
def hash_cmd(
    paths: tuple[str, ...],
    algorithms: str,
    fmt: str,
    out: Path | None,
    jobs: int | None,
    follow_symlinks: bool,
    audit_file: Path | None,
    as_json: bool,
) -> None:
    """Hash PATHS (files or folders, recursively) with several digests in one read.

    FIFOs, sockets and devices are skipped with a note, symlinks recorded but not followed
    unless asked; unreadable files and files that change while being read are reported and
    make the exit code 1. With --audit, exit 0 only when every file matched and nothing is
    new, missing or moved.
    """
    from irkit import hashing, manifests
    from irkit.timefmt import format_utc, system_clock

    chosen = hashing.check_algorithms(algorithms.split(","))
    expected: dict[bytes, str] = {}
    if audit_file is not None:
        algorithm, expected = manifests.load(audit_file.read_bytes())
        chosen = (algorithm,)
    roots = [os.fsencode(p) for p in paths]
    records = hashing.hash_paths(
        roots, chosen, jobs=jobs, follow_symlinks=follow_symlinks, progress=_progress()
    )
    if sys.stderr.isatty():
        click.echo("", err=True)
    trouble = 0
    for r in records:
        if r.kind == "skipped" or (r.kind == "symlink" and not as_json):
            click.echo(f"note: {_show(r.path)}: {r.note}", err=True)
        elif r.kind == "error" or r.note:
            warn(f"{_show(r.path)}: {r.note}")
            trouble += 1
    if audit_file is not None:
        if expected and all(p.startswith(b"/") for p in expected):
            # hashdeep records absolute paths: compare like with like
            for r in records:
                r.path = os.path.abspath(r.path)
        result = manifests.audit(expected, chosen[0], records)
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
                }
            )
        else:
            for label, items in (
                ("changed", result.changed),
                ("new", result.new),
                ("missing", result.missing),
            ):
                for p in items:
                    click.echo(f"{label}: {_show(p)}")
            for was, now in result.moved:
                click.echo(f"moved: {_show(was)} -> {_show(now)}")
            click.echo(", ".join(f"{k} {v}" for k, v in result.summary().items()))
        if not result.ok:
            raise ProblemsFound("audit found differences")
        return
    if fmt == "sha256sum":
        data = manifests.write_sums(records, chosen[0])
    elif fmt == "hashdeep":
        data = manifests.write_hashdeep(records, chosen, os.fsencode(os.getcwd()))
    elif fmt == "dfxml":
        data = manifests.write_dfxml(records, chosen, format_utc(system_clock()))
    elif fmt == "csv":
        data = manifests.write_csv(records, chosen)
    else:
        data = manifests.write_json(records, chosen, roots, format_utc(system_clock()))
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror}") from exc
    if trouble:
        raise ProblemsFound(f"{trouble} path(s) could not be hashed reliably")
