"""Bar (issue 14): publishing one new entry to a remote that holds 100,000 transfers a
bounded amount of data, independent of the journal's size. Counts the bytes uploaded and
downloaded (object bodies) and the requests, for a remote of 1,000 and of --entries
entries, in one run: once with nothing new on the remote, once after another member
published one entry (pull one claim, rebase, publish).

Run: python bench/publish.py [--entries 100000] [--dir]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.s3server
from _journal import bench_signer, make_case

from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case, add_member
from irkit.remote import backend as backend_module
from irkit.remote import state, sync


class Counting:
    """A backend that counts the bytes of every object body sent and received."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url
        self.up = self.down = self.requests = 0

    def get(self, key: str) -> bytes | None:
        self.requests += 1
        data: bytes | None = self.inner.get(key)
        self.down += len(data or b"")
        return data

    def get_versioned(self, key: str) -> tuple[bytes, str] | None:
        self.requests += 1
        got: tuple[bytes, str] | None = self.inner.get_versioned(key)
        self.down += len(got[0]) if got else 0
        return got

    def create(self, key: str, data: bytes) -> bool:
        self.requests += 1
        self.up += len(data)
        return bool(self.inner.create(key, data))

    def replace(self, key: str, data: bytes, expect: str | None) -> bool:
        self.requests += 1
        self.up += len(data)
        return bool(self.inner.replace(key, data, expect))

    def list(self, prefix: str) -> Iterator[str]:
        self.requests += 1
        yield from self.inner.list(prefix)

    def __getattr__(self, name: str) -> Any:
        self.requests += 1
        return getattr(self.inner, name)


COUNTERS: list[Counting] = []


def counting_open(url: str, settings: Any = None) -> Any:
    wrapped = Counting(backend_module.open_backend(url, settings))
    COUNTERS.append(wrapped)
    return wrapped


def measure(
    work: Path, entries: int, config: state.RemoteConfig
) -> list[tuple[str, int, int, int]]:
    alice = bench_signer()
    bob = ed25519.signer_from_seed(b"b" * 32, "Bob", "responder")
    case = make_case(work / f"case-{entries}", entries, alice)
    add_member(case, alice, bob.public, name="Bob", role="responder")
    remote_dir = config.model_copy(update={"url": config.url.rstrip("/") + f"-{entries}"})
    if not remote_dir.url.startswith("s3://"):
        Path(remote_dir.url).mkdir()
    sync.add_remote(case, "origin", remote_dir)
    sync.sync(case, signer=alice)
    other = work / f"bob-{entries}"
    sync.clone(remote_dir.url, other, settings=remote_dir)
    bob_case = Case.open(other)
    rows = []
    sync.open_backend = counting_open  # type: ignore[attr-defined]
    try:
        add_note(case, alice, "one more observation")
        COUNTERS.clear()
        sync.sync(case, signer=alice)
        c = COUNTERS[-1]
        rows.append(("publish 1 entry, nothing new", c.up, c.down, c.requests))
        add_note(bob_case, bob, "bob's observation")
        sync.sync(bob_case, signer=bob)
        add_note(case, alice, "and another")
        COUNTERS.clear()
        sync.sync(case, signer=alice)
        c = COUNTERS[-1]
        rows.append(("publish 1 entry after 1 new", c.up, c.down, c.requests))
    finally:
        sync.open_backend = backend_module.open_backend  # type: ignore[attr-defined]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--dir", action="store_true", help="a directory remote, not SeaweedFS")
    args = parser.parse_args()
    os.environ.setdefault("IRKIT_HOME", tempfile.mkdtemp(prefix="irkit-bench-home-"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = None
        if not args.dir:
            from clone import s3_remote

            got = s3_remote(work)
        else:
            got = None
        if got is None:
            config = state.RemoteConfig(url=str(work / "remote"))
            kind = "directory remote"
        else:
            config, server = got
            kind = "SeaweedFS"
        try:
            results = {n: measure(work, n, config) for n in (1_000, args.entries)}
        finally:
            if server is not None:
                server.stop()  # type: ignore[attr-defined]
    print(f"bytes per publication ({kind}):")
    for n, rows in results.items():
        for what, up, down, requests in rows:
            print(
                f"  remote of {n:>7,} entries, {what:<30} up {up:>6} B, down {down:>6} B, "
                f"{requests} requests"
            )
    small = results[1_000]
    large = results[args.entries]
    bounded = all(
        lg[1] + lg[2] <= 2 * (sm[1] + sm[2]) + 4096 for sm, lg in zip(small, large, strict=True)
    )
    print("independent of the journal's size: " + ("PASS" if bounded else "FAIL"))


if __name__ == "__main__":
    main()
