"""A sync never publishes from a local journal whose tail does not verify (the same rule as
`Case.append`): lines of another copy appended locally stay local, the remote untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import BrokenChain, Case
from irkit.remote import state, sync
from tests.helpers import lines


def test_sync_refuses_to_publish_lines_appended_from_another_copy(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    sync.add_remote(case, "origin", state.RemoteConfig(url=str(remote)))
    sync.sync(case, "origin", signer=alice)
    published = sorted(p.relative_to(remote) for p in remote.rglob("*") if p.is_file())

    bob_root = tmp_path / "bob-copy"
    shutil.copytree(case.root, bob_root)
    add_note(Case.open(bob_root), bob, "bob, on a copied folder")
    add_note(case, alice, "alice")
    with case.journal_path.open("ab") as fh:
        fh.write(lines(bob_root)[-1] + b"\n")

    with pytest.raises(BrokenChain):
        sync.sync(case, "origin", signer=alice)
    assert sorted(p.relative_to(remote) for p in remote.rglob("*") if p.is_file()) == published
