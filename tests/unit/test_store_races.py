"""The evidence store under concurrent writers: no blob a committed entry names is ever
deleted, and long collections are not thrown away because someone appended meanwhile.

Each race runs two writers on two threads with their own `Case` objects (so their own
descriptors and locks, as two processes would have) and a fixed interleaving: the slow
writer is paused right after its copies (a wrapper around its own `sync_all` or `append`
that waits for an event, then calls the real one)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irkit.errors import InputError, JournalError, NotAuthorizedError
from irkit.evidence.collect import check_items, collect, inventory
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case, add_member, remove_member
from irkit.record.entry import Entry
from irkit.record.leftovers import store_leftovers
from tests.conftest import FixedClock, seeded_signer
from tests.helpers import problems, verify


class Paused:
    """Runs `work` on a thread that stops where `hook` is called until `go()`."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None
        self.result: Any = None
        self.thread: threading.Thread | None = None

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def paused(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            assert self.release.wait(30), "never released"
            return func(*args, **kwargs)

        return paused

    def start(self, work: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.result = work()
            except BaseException as exc:  # noqa: BLE001 -- handed to the test thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.reached.wait(30), "the writer never got to its pause"

    def go(self) -> None:
        self.release.set()
        assert self.thread is not None
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def carol(case: Case, alice: ed25519.Signer, clock: FixedClock) -> Iterator[ed25519.Signer]:
    signer = seeded_signer("carol")
    add_member(case, alice, signer.public, name="Carol", role="responder", clock=clock)
    yield signer


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "folder"
    src.mkdir()
    (src / "shared.log").write_bytes(b"the file both collect\n")
    for i in range(5):
        (src / f"only-{i}.log").write_bytes(f"only in the folder collection {i}\n".encode())
    return src


def stored_files(case: Case) -> list[Path]:
    return sorted(p for p in (case.root / "evidence").rglob("*") if p.is_file())


def test_a_failed_collection_keeps_the_copy_another_collection_named(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, carol: ed25519.Signer, folder: Path
) -> None:
    """The reported race: a quick collection finds the slow one's copy already stored and
    names it; the slow one then fails. Its clean-up must not delete the shared copy."""
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.store.sync_all = slow.wrap(slow_case.store.sync_all)  # type: ignore[method-assign]
    slow.start(lambda: collect(slow_case, carol, [folder]))

    quick = collect(Case.open(case.root), bob, [folder / "shared.log"])
    remove_member(case, alice, carol.fingerprint, reason="left the team")  # slow one now fails
    slow.go()

    assert isinstance(slow.error, NotAuthorizedError)
    assert problems(verify(case.root)) == []
    assert check_items(case) == [(quick.body["items"][0]["id"], None)]
    # nobody else was at work when it failed: its other copies went, the shared one stayed
    assert stored_files(case) == [case.store.path_for(quick.body["items"][0]["sha256"])]
    assert store_leftovers(case.store) == []


def test_a_failed_collection_leaves_its_copies_while_another_writer_is_at_work(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, carol: ed25519.Signer, folder: Path
) -> None:
    """When the slow collection fails while another writer is between its copy and its
    entry, it cannot know what that entry will name: it removes nothing; gc does later."""
    slow_case, quick_case = Case.open(case.root), Case.open(case.root)
    slow, quick = Paused(), Paused()
    slow_case.store.sync_all = slow.wrap(slow_case.store.sync_all)  # type: ignore[method-assign]
    quick_case.store.sync_all = quick.wrap(quick_case.store.sync_all)  # type: ignore[method-assign]
    slow.start(lambda: collect(slow_case, carol, [folder]))
    quick.start(lambda: collect(quick_case, bob, [folder / "shared.log"]))
    remove_member(case, alice, carol.fingerprint, reason="left the team")
    slow.go()  # fails while the quick one holds a copy it found already stored
    assert isinstance(slow.error, NotAuthorizedError)
    quick.go()
    assert quick.error is None

    assert problems(verify(case.root)) == []
    named = case.store.path_for(quick.result.body["items"][0]["sha256"])
    orphans = [case.root / o.path for o in store_leftovers(case.store) if o.kind == "orphan"]
    assert len(orphans) == 5 and named not in orphans

    from irkit.record.leftovers import collect_garbage

    collect_garbage(case.store)
    assert stored_files(case) == [named]
    assert problems(verify(case.root)) == []


def test_a_failed_note_keeps_the_attachment_another_note_named(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, carol: ed25519.Signer, tmp_path: Path
) -> None:
    attachment = tmp_path / "screenshot.png"
    attachment.write_bytes(b"\x89PNG both attach this")
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.append = slow.wrap(slow_case.append)  # type: ignore[method-assign]
    slow.start(lambda: add_note(slow_case, carol, "slow", attach=[attachment]))

    quick = add_note(Case.open(case.root), bob, "quick", attach=[attachment])
    remove_member(case, alice, carol.fingerprint, reason="left the team")
    slow.go()

    assert isinstance(slow.error, NotAuthorizedError)
    assert problems(verify(case.root)) == []
    assert case.store.path_for(quick.body["attachments"][0]["sha256"]).is_file()


def test_a_failed_collection_alone_leaves_the_case_as_it_was(
    case: Case, alice: ed25519.Signer, carol: ed25519.Signer, folder: Path
) -> None:
    """No copy, no temporary file, no store folder made for it stays behind."""
    before = sorted(p.relative_to(case.root) for p in (case.root / "evidence").rglob("*"))
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.store.sync_all = slow.wrap(slow_case.store.sync_all)  # type: ignore[method-assign]
    slow.start(lambda: collect(slow_case, carol, [folder]))
    remove_member(case, alice, carol.fingerprint, reason="left the team")
    slow.go()
    assert isinstance(slow.error, NotAuthorizedError)
    after = sorted(p.relative_to(case.root) for p in (case.root / "evidence").rglob("*"))
    assert after == before


def test_a_collection_commits_after_others_appended_meanwhile(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, folder: Path, tmp_path: Path
) -> None:
    """A note and another collection land while a folder is being copied: the folder's
    collection is not refused, its item ids follow the other collection's."""
    other = tmp_path / "other.log"
    other.write_bytes(b"collected meanwhile\n")
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.store.sync_all = slow.wrap(slow_case.store.sync_all)  # type: ignore[method-assign]
    slow.start(lambda: collect(slow_case, bob, [folder]))

    add_note(case, alice, "meanwhile, a note")
    quick = collect(Case.open(case.root), alice, [other])
    slow.go()

    assert slow.error is None
    assert [i["id"] for i in quick.body["items"]] == ["E-0001"]
    assert [i["id"] for i in slow.result.body["items"]] == [f"E-{n:04d}" for n in range(2, 8)]
    assert problems(verify(case.root)) == []
    assert sorted(inventory(case.read_entries().entries).items) == [
        f"E-{n:04d}" for n in range(1, 8)
    ]


# -- Case.append(rebase=...) -------------------------------------------------------------


def test_rebase_sees_exactly_the_entries_appended_since(case: Case, alice: ed25519.Signer) -> None:
    view = case.read_entries().entries[-1].seq
    long_text = "x" * 5000  # 40 entries of 5 kB: the tail is read back in several pieces
    for i in range(40):
        add_note(case, alice, f"{i} {long_text}")
    seen: list[Entry] = []

    def rebase(newer: list[Entry]) -> dict[str, Any]:
        seen.extend(newer)
        return {"text": f"after {len(newer)}", "tags": [], "attachments": [], "confidential": False}

    entry = case.append(
        alice,
        "note.added",
        {"text": "stale", "tags": [], "attachments": [], "confidential": False},
        after=view,
        rebase=rebase,
    )
    assert [e.seq for e in seen] == list(range(view + 1, view + 41))
    assert seen[0].body["text"].startswith("0 ") and seen[-1].body["text"].startswith("39 ")
    assert entry.body["text"] == "after 40" and entry.seq == view + 41
    assert problems(verify(case.root)) == []


def test_rebase_is_not_called_when_nothing_changed(case: Case, alice: ed25519.Signer) -> None:
    view = case.read_entries().entries[-1].seq

    def never(newer: list[Entry]) -> dict[str, Any]:
        raise AssertionError("called")

    body = {"text": "fresh", "tags": [], "attachments": [], "confidential": False}
    assert case.append(alice, "note.added", body, after=view, rebase=never).body == body


def test_a_rebase_that_refuses_writes_nothing(case: Case, alice: ed25519.Signer) -> None:
    view = case.read_entries().entries[-1].seq
    add_note(case, alice, "meanwhile")
    before = case.journal_path.read_bytes()

    def refuse(newer: list[Entry]) -> dict[str, Any]:
        raise InputError("refused: it conflicts")

    body = {"text": "stale", "tags": [], "attachments": [], "confidential": False}
    with pytest.raises(InputError, match="conflicts"):
        case.append(alice, "note.added", body, after=view, rebase=refuse)
    with pytest.raises(InputError, match=r"invalid note\.added entry"):
        case.append(alice, "note.added", body, after=view, rebase=lambda newer: {"text": 1})
    assert case.journal_path.read_bytes() == before


def test_rebase_refuses_a_malformed_tail(case: Case, alice: ed25519.Signer) -> None:
    view = case.read_entries().entries[-1].seq
    with case.journal_path.open("ab") as fh:
        fh.write(b'{"not": "an entry"}\n')
    case.invalidate_state()
    body = {"text": "stale", "tags": [], "attachments": [], "confidential": False}
    with pytest.raises(JournalError):
        case.append(alice, "note.added", body, after=view, rebase=lambda newer: body)


# -- failure paths inside the store ------------------------------------------------------


def test_a_failed_rename_removes_the_folder_made_for_it(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "new.bin"
    src.write_bytes(b"content whose store folder does not exist yet")

    def full(a: Any, b: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "rename", full)
    with pytest.raises(InputError, match="No space left"):
        case.store.put_file(src)
    assert list((case.root / "evidence" / "sha256").iterdir()) == []
    assert list((case.root / "evidence" / "tmp").iterdir()) == []


def test_an_interrupted_copy_leaves_no_temporary_file(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(1024 * 1024))
    real, calls = os.read, [0]

    def interrupted(fd: int, n: int) -> bytes:
        calls[0] += 1
        if calls[0] > 2:
            raise KeyboardInterrupt
        return real(fd, n)

    monkeypatch.setattr(os, "read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        case.store.put_file(src)
    monkeypatch.setattr(os, "read", real)
    assert list((case.root / "evidence" / "tmp").iterdir()) == []


def test_a_store_folder_removed_meanwhile_is_made_again(case: Case, tmp_path: Path) -> None:
    """Folders the store has seen may be removed since (gc takes empty ones, a failed
    writer its own): the next copy into them must make them again, not fail."""
    src = tmp_path / "a"
    src.write_bytes(b"one")
    blob = case.store.path_for(case.store.put_file(src).sha256)
    blob.unlink()
    blob.parent.rmdir()
    (case.root / "evidence" / "tmp").rmdir()
    assert case.store.put_file(src).created  # both folders are still in its cache
    assert blob.is_file()


# -- custody: the same re-validation instead of a compare-and-swap --------------------------


def test_a_release_commits_after_a_note_and_another_release_meanwhile(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, carol: ed25519.Signer, folder: Path
) -> None:
    from irkit.evidence import custody

    collect(case, bob, [folder / "shared.log", folder / "only-0.log"])
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.append = slow.wrap(slow_case.append)  # type: ignore[method-assign]
    slow.start(
        lambda: custody.release(slow_case, bob, ["E-0001"], to=carol.fingerprint, purpose="lab")
    )
    add_note(case, alice, "meanwhile, a note")
    quick = custody.release(case, bob, ["E-0002"], to=alice.fingerprint, purpose="archive")
    slow.go()

    assert slow.error is None
    assert quick.body["transfer"] == "T-0001" and slow.result.body["transfer"] == "T-0002"
    assert problems(verify(case.root)) == []


def test_a_release_of_an_item_released_meanwhile_is_refused(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, carol: ed25519.Signer, folder: Path
) -> None:
    from irkit.evidence import custody

    collect(case, bob, [folder / "shared.log"])
    slow_case = Case.open(case.root)
    slow = Paused()
    slow_case.append = slow.wrap(slow_case.append)  # type: ignore[method-assign]
    slow.start(
        lambda: custody.release(slow_case, bob, ["E-0001"], to=carol.fingerprint, purpose="lab")
    )
    custody.release(case, bob, ["E-0001"], to=alice.fingerprint, purpose="archive")
    before = case.journal_path.read_bytes()
    slow.go()

    assert isinstance(slow.error, InputError) and "in transit" in str(slow.error)
    assert case.journal_path.read_bytes() == before
    assert problems(verify(case.root)) == []
