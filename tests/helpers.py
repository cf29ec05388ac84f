"""Helpers for tests that take a journal apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from irkit.audit.verify import VerifyReport, verify_case


def lines(case_root: Path) -> list[bytes]:
    return (case_root / "journal.jsonl").read_bytes().splitlines()


def write_lines(case_root: Path, new_lines: list[bytes]) -> None:
    (case_root / "journal.jsonl").write_bytes(b"".join(x + b"\n" for x in new_lines))


def entry(line: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(line)
    return obj


def problems(report: VerifyReport) -> list[str]:
    return [str(p) for p in report.problems]


def verify(case_root: Path, **kwargs: Any) -> VerifyReport:
    kwargs.setdefault("jobs", 1)
    return verify_case(case_root, **kwargs)


def qpdf_decompressed(pdf: bytes, tmp_path: Path) -> bytes:
    """The PDF with every stream decompressed (qpdf --qdf), to search what a viewer hides."""
    import shutil
    import subprocess

    import pytest

    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed: cannot decompress streams to search them")
    src, out = tmp_path / "r.pdf", tmp_path / "r.qdf"
    src.write_bytes(pdf)
    subprocess.run([qpdf, "--qdf", "--object-streams=disable", str(src), str(out)], check=True)
    return out.read_bytes()


def children() -> set[int]:
    """Pids of this process's children, zombies included (Linux /proc).

    Tests that check "no worker left" compare against the set taken before: waitpid(-1) would
    also see (and reap) children other tests left, such as multiprocessing's spawn helpers.
    """
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            listed = (task / "children").read_text()
        except FileNotFoundError:
            continue  # a thread that ended meanwhile (a server fixture's, a pool's)
        found.update(int(pid) for pid in listed.split())
    return found
