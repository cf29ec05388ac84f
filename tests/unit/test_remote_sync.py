"""Team cases through one remote (irkit/remote/sync.py): machines, races, forks, rollback,
conflicts, clones. Every test runs against a directory remote and a real S3 server
(SeaweedFS, tests/s3server.py)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from irkit.audit.verify import verify_case
from irkit.errors import InputError, ProblemsFound
from irkit.evidence import collect, custody
from irkit.formats import ed25519
from irkit.notes.notes import add_note, correct_note
from irkit.record.case import Case, add_member, init_case
from irkit.remote import journal as rj
from irkit.remote import state, sync
from irkit.remote.backend import open_backend
from tests.conftest import seeded_signer
from tests.s3server import S3Remote

NAMES = ("alice", "bob", "carol", "dave")


@pytest.fixture(params=["dir", "s3"])
def remote_config(request: pytest.FixtureRequest, tmp_path: Path) -> state.RemoteConfig:
    """A fresh remote: a folder, or a bucket on the session's SeaweedFS."""
    if request.param == "dir":
        folder = tmp_path / "remote"
        folder.mkdir()
        return state.RemoteConfig(url=str(folder))
    make: S3Remote = request.getfixturevalue("s3_remote")
    url, settings = make()
    return state.RemoteConfig(url=url, endpoint_url=settings.endpoint_url)


def signer(label: str) -> ed25519.Signer:
    return seeded_signer(label, "lead" if label == "alice" else "responder")


def team(
    tmp_path: Path, config: state.RemoteConfig, members: tuple[str, ...] = NAMES
) -> list[Case]:
    """Alice opens the case and adds the others, publishes; each other member clones."""
    alice = signer("alice")
    lead = init_case(tmp_path / "alice", title="Team", case_id="TEAM-1", signer=alice)
    for name in members[1:]:
        add_member(lead, alice, signer(name).public, name=name.title(), role="responder")
    sync.add_remote(lead, "origin", config)
    sync.sync(lead, signer=alice)
    cases = [lead]
    for name in members[1:]:
        sync.clone(config.url, tmp_path / name, trust=alice.fingerprint, settings=config)
        cases.append(Case.open(tmp_path / name))
    return cases


def journal(case: Case) -> bytes:
    return case.journal_path.read_bytes()


def settle(cases: list[Case]) -> None:
    """Everyone syncs until every copy holds the same journal."""
    for _ in range(3):
        for case, name in zip(cases, NAMES, strict=False):
            sync.sync(case, signer=signer(name))
        if len({journal(c) for c in cases}) == 1:
            return


def _machine(root: str, name: str, home: str, count: int, every: int, offline: int) -> None:
    """One machine: `count` notes, a sync after every `every` once past `offline` writes."""
    os.environ["IRKIT_HOME"] = home
    case = Case.open(Path(root))
    me = signer(name)
    for i in range(count):
        add_note(case, me, f"{name} note {i}")
        if i >= offline and (i + 1) % every == 0:
            sync.sync(case, signer=me)
    sync.sync(case, signer=me)


def run_machines(
    tmp_path: Path, cases: list[Case], *, count: int, every: int, offline: dict[str, int]
) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = []
    for case, name in zip(cases, NAMES, strict=True):
        home = tmp_path / f"home-{name}"
        home.mkdir(exist_ok=True)
        args = (str(case.root), name, str(home), count, every, offline.get(name, 0))
        procs.append(ctx.Process(target=_machine, args=args))
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0, f"a machine failed (exit {p.exitcode})"


def check_one_chain(cases: list[Case], notes: int) -> None:
    settle(cases)
    assert len({journal(c) for c in cases}) == 1
    lines = cases[0].journal_path.read_bytes().splitlines()
    texts = [json.loads(x)["body"].get("text") for x in lines]
    for name in NAMES:
        mine = [t for t in texts if t and t.startswith(f"{name} note ")]
        assert sorted(mine) == sorted(f"{name} note {i}" for i in range(notes))
    for case in cases:
        report = verify_case(case.root, trust=[signer("alice").fingerprint])
        assert report.ok, [str(p) for p in report.problems]


def test_four_machines_at_once_one_chain(tmp_path: Path, remote_config: state.RemoteConfig) -> None:
    cases = team(tmp_path, remote_config)
    run_machines(tmp_path, cases, count=100, every=10, offline={})
    check_one_chain(cases, 100)
    # the remote itself: a fresh clone holds the same journal and verifies
    clone = tmp_path / "auditor"
    result = sync.clone(
        remote_config.url, clone, trust=signer("alice").fingerprint, settings=remote_config
    )
    assert result.anchored and result.entries == len(journal(cases[0]).splitlines())
    assert (clone / "journal.jsonl").read_bytes() == journal(cases[0])


def test_four_machines_one_offline_for_half(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    cases = team(tmp_path, remote_config)
    # published after Carol's clone: her offline notes must come after it, whichever machine
    # starts first (else she might publish all 50 before anyone else and rebase none)
    add_note(cases[0], signer("alice"), "published before the run")
    sync.sync(cases[0], signer=signer("alice"))
    run_machines(tmp_path, cases, count=100, every=10, offline={"carol": 50})
    check_one_chain(cases, 100)
    # Carol's first 50 notes were written offline: re-sequenced, recorded time kept
    superseded = state.read_jsonl(state.Paths(cases[2].root, "origin").superseded)
    old = {json.loads(r["line"])["body"]["text"]: json.loads(r["line"]) for r in superseded}
    now = {json.loads(x)["body"].get("text"): json.loads(x) for x in journal(cases[0]).splitlines()}
    assert "carol note 0" in old
    assert old["carol note 0"]["recorded"] == now["carol note 0"]["recorded"]
    assert old["carol note 0"]["seq"] != now["carol note 0"]["seq"]


def test_publication_time_and_unpublished(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    cases = team(tmp_path, remote_config, ("alice", "bob"))
    lead = cases[0]
    add_note(lead, signer("alice"), "not yet")
    index = state.PublicationIndex(lead.root)
    size = len(journal(lead).splitlines())
    assert not index.of(size - 1).published
    assert index.of(0).published and index.of(0).time is not None
    result = sync.sync(lead, signer=signer("alice"))
    assert result.published == 1 and result.time is not None
    assert state.PublicationIndex(lead.root).of(size - 1).time == result.time


def test_rebase_maps_references_and_renumbers_items(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    alice, bob = signer("alice"), signer("bob")
    files = tmp_path / "files"
    files.mkdir()
    (files / "a.log").write_text("alice's file")
    (files / "b.log").write_text("bob's file")
    collect.collect(a, alice, [files / "a.log"])  # E-0001 on Alice's copy
    collect.collect(b, bob, [files / "b.log"])  # E-0001 on Bob's copy too (offline)
    note = add_note(b, bob, "about my item", extra={"links": ["E-0001"]})
    correct_note(b, bob, note.seq, "about my item, corrected", reason="typo")
    sync.sync(a, signer=alice)
    result = sync.sync(b, signer=bob)
    assert result.renumbered == {"E-0001": "E-0002"}
    assert result.rebased == 3 and not result.conflicts
    lines = [json.loads(x) for x in journal(b).splitlines()]
    mine = [e for e in lines if e["actor"] == bob.fingerprint]
    assert mine[0]["body"]["items"][0]["id"] == "E-0002"
    assert mine[1]["body"]["links"] == ["E-0002"]
    assert mine[2]["body"]["corrects"] == mine[1]["seq"]
    sync.sync(a, signer=alice)
    assert journal(a) == journal(b)
    assert verify_case(b.root).ok  # evidence re-hashed: the objects came through the remote
    assert verify_case(a.root).ok


def test_custody_conflict_kept_locally_and_withdrawn(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    """Alice releases E-0001 on two machines while both are offline: the second sync finds
    the item already in transit; that release is held back, never published."""
    a, _, _ = team(tmp_path, remote_config, ("alice", "bob", "carol"))
    alice = signer("alice")
    files = tmp_path / "files"
    files.mkdir()
    (files / "disk.img").write_bytes(b"disk image")
    collect.collect(a, alice, [files / "disk.img"])
    sync.sync(a, signer=alice)
    laptop = tmp_path / "alice-laptop"
    sync.clone(remote_config.url, laptop, settings=remote_config)
    second = Case.open(laptop)
    custody.release(a, alice, ["E-0001"], to="Bob", purpose="imaging")
    custody.release(second, alice, ["E-0001"], to="Carol", purpose="analysis")
    before = journal(second).splitlines()[-1]
    sync.sync(a, signer=alice)
    result = sync.sync(second, signer=alice)
    assert [c.kind for c in result.conflicts] == ["custody.released"]
    conflict = result.conflicts[0]
    assert "E-0001" in conflict.reason and conflict.winner_seq is not None
    assert journal(second) == journal(a)  # nothing of the conflict was published
    held = state.read_jsonl(state.Paths(laptop, "origin").conflicts)
    assert held[0]["line"].encode() == before  # kept, as written
    again = sync.sync(second, signer=alice)
    assert not again.conflicts and [c.id for c in again.open_conflicts] == [conflict.id]
    sync.withdraw(second, None, conflict.id)
    assert not sync.sync(second, signer=alice).open_conflicts
    assert verify_case(laptop).ok


def test_two_corrections_of_one_note_conflict(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    note = add_note(a, signer("alice"), "the firewall was down")
    sync.sync(a, signer=signer("alice"))
    sync.sync(b, signer=signer("bob"))
    correct_note(a, signer("alice"), note.seq, "the firewall was up", reason="checked")
    correct_note(b, signer("bob"), note.seq, "the router was down", reason="checked")
    sync.sync(a, signer=signer("alice"))
    result = sync.sync(b, signer=signer("bob"))
    assert [c.kind for c in result.conflicts] == ["note.corrected"]
    assert f"answers entry {note.seq}" in result.conflicts[0].reason


def test_fork_detected_and_nothing_changed(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    """The remote is restored from an old copy and someone writes on it: Alice's next sync
    names the first differing entry and both hashes, and changes nothing on either side."""
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    backend = open_backend(remote_config.url, remote_config.settings())
    keys = sorted(backend.list(""))
    stale = {k: backend.get(k) for k in keys}
    for i in range(3):
        add_note(a, signer("alice"), f"alice {i}")
    sync.sync(a, signer=signer("alice"))
    restore(remote_config, stale)
    for i in range(5):
        add_note(b, signer("bob"), f"bob {i}")
    sync.sync(b, signer=signer("bob"))  # Bob's view never saw Alice's: he writes on the stale one
    add_note(a, signer("alice"), "more")
    before = journal(a)
    with pytest.raises(ProblemsFound) as caught:
        sync.sync(a, signer=signer("alice"))
    size = len(stale_lines(stale))
    assert f"first difference at entry {size}" in caught.value.message
    assert caught.value.message.count("sha256:") == 2
    assert journal(a) == before


def stale_lines(objects: dict[str, bytes | None]) -> list[str]:
    out: list[str] = []
    for key in sorted(k for k in objects if k.startswith("log/claims/")):
        out.extend(json.loads(objects[key] or b"{}")["lines"])
    return out


def restore(config: state.RemoteConfig, objects: dict[str, bytes | None]) -> None:
    """Put the remote back to `objects` outside irkit (an old backup restored)."""
    if not config.url.startswith("s3://"):
        root = Path(config.url)
        shutil.rmtree(root)
        root.mkdir()
        for key, data in objects.items():
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data or b"")
        return
    import boto3

    bucket, _, prefix = config.url.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=config.endpoint_url)
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
    for item in listed.get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=data or b"")


def test_rolled_back_checkpoint_detected(tmp_path: Path, remote_config: state.RemoteConfig) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    backend = open_backend(remote_config.url, remote_config.settings())
    old = backend.get(rj.CHECKPOINT_KEY)
    add_note(a, signer("alice"), "one more")
    sync.sync(a, signer=signer("alice"))
    sync.sync(b, signer=signer("bob"))
    everything = {k: backend.get(k) for k in backend.list("")}
    everything[rj.CHECKPOINT_KEY] = old
    restore(remote_config, everything)
    before = journal(b)
    with pytest.raises(ProblemsFound, match="rolled back"):
        sync.sync(b, signer=signer("bob"))
    assert journal(b) == before
    assert not sync.verify_remote(b).ok


def test_tampered_claim_refused(tmp_path: Path, remote_config: state.RemoteConfig) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    add_note(a, signer("alice"), "the original")
    sync.sync(a, signer=signer("alice"))
    backend = open_backend(remote_config.url, remote_config.settings())
    everything = {k: backend.get(k) for k in backend.list("")}
    last = max(k for k in everything if k.startswith("log/claims/"))
    everything[last] = (everything[last] or b"").replace(b"the original", b"the forgery!")
    restore(remote_config, everything)
    before = journal(b)
    with pytest.raises(ProblemsFound):
        sync.sync(b, signer=signer("bob"))
    assert journal(b) == before


def test_auditor_clones_with_only_the_fingerprint(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    team(tmp_path, remote_config, ("alice", "bob"))
    good = sync.clone(
        remote_config.url,
        tmp_path / "audit",
        trust=signer("alice").fingerprint,
        settings=remote_config,
    )
    assert good.anchored
    assert verify_case(tmp_path / "audit", trust=[signer("alice").fingerprint]).ok
    with pytest.raises(ProblemsFound, match="not by the trusted"):
        sync.clone(
            remote_config.url,
            tmp_path / "audit2",
            trust=signer("mallory").fingerprint,
            settings=remote_config,
        )
    assert not (tmp_path / "audit2").exists()
    leftovers = [p for p in tmp_path.iterdir() if ".clone-" in p.name]
    assert leftovers == []


def test_pull_needs_no_key_without_local_work(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    add_note(a, signer("alice"), "news")
    sync.sync(a, signer=signer("alice"))

    def no_key() -> ed25519.Signer:
        raise AssertionError("no key should be needed")

    result = sync.sync(b, get_signer=no_key, publish=False)
    assert result.pulled == 1 and journal(a) == journal(b)


def test_push_refused_when_remote_moved(tmp_path: Path, remote_config: state.RemoteConfig) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    add_note(a, signer("alice"), "first")
    sync.sync(a, signer=signer("alice"))
    add_note(b, signer("bob"), "mine")
    before = journal(b)
    with pytest.raises(InputError, match="not seen; nothing was pushed"):
        sync.sync(b, signer=signer("bob"), require_current=True)
    assert journal(b) == before


def test_other_case_refused(tmp_path: Path, remote_config: state.RemoteConfig) -> None:
    team(tmp_path, remote_config, ("alice",))
    other = init_case(tmp_path / "other", title="Other", case_id="OTHER-1", signer=signer("alice"))
    with pytest.raises(InputError, match="not this case"):
        sync.add_remote(other, "origin", remote_config)


def test_published_checkpoint_with_time_line_verifies_as_kept(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    """The remote's checkpoint (a signed note with a `time` extension line) is a checkpoint
    `irkit verify --checkpoint` accepts: kept, consistent, covering the published entries."""
    a, _ = team(tmp_path, remote_config, ("alice", "bob"))
    backend = open_backend(remote_config.url, remote_config.settings())
    note = backend.get(rj.CHECKPOINT_KEY) or b""
    assert b"\ntime 20" in note
    kept = tmp_path / "published.txt"
    kept.write_bytes(note)
    report = verify_case(a.root, checkpoints=[kept])
    assert report.ok and report.uncovered == 0
    assert [c.consistent for c in report.checkpoints if c.kept] == [True]


def test_local_published_history_changed_outside_irkit_refused(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    """A copy whose published entries were replaced (another copy's journal put over it)
    is refused before anything is read into it or published from it."""
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    add_note(b, signer("bob"), "bob's")
    other = tmp_path / "other"
    init_case(other, title="Team", case_id="TEAM-1", signer=signer("alice"))
    shutil.copyfile(other / "journal.jsonl", a.journal_path)
    a.invalidate_state()
    add_note(a, signer("alice"), "on the replaced journal")
    before = journal(a)
    with pytest.raises(ProblemsFound, match="no longer holds"):
        sync.sync(a, signer=signer("alice"))
    assert journal(a) == before


def test_sync_stopped_before_saving_its_view_is_not_published_twice(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    a, b = team(tmp_path, remote_config, ("alice", "bob"))
    view_file = state.Paths(a.root, "origin").view
    old_view = view_file.read_bytes()
    add_note(a, signer("alice"), "published, but the view was not saved")
    sync.sync(a, signer=signer("alice"))
    after = journal(a)
    view_file.write_bytes(old_view)  # as if the sync had stopped right after its claim
    result = sync.sync(a, signer=signer("alice"))
    assert result.published == 0 and result.rebased == 0 and journal(a) == after
    sync.sync(b, signer=signer("bob"))
    assert journal(b) == after


def test_verify_remote_checks_every_evidence_object(
    tmp_path: Path, remote_config: state.RemoteConfig
) -> None:
    a, _ = team(tmp_path, remote_config, ("alice", "bob"))
    (tmp_path / "mem.raw").write_bytes(b"memory image")
    entry = collect.collect(a, signer("alice"), [tmp_path / "mem.raw"])
    sync.sync(a, signer=signer("alice"))
    good = sync.verify_remote(a)
    assert good.ok and good.evidence_checked == 1 and good.remote_entries == good.local_entries
    digest = entry.body["items"][0]["sha256"]
    everything = {
        k: open_backend(remote_config.url, remote_config.settings()).get(k)
        for k in open_backend(remote_config.url, remote_config.settings()).list("")
    }
    del everything[rj.evidence_key(digest)]
    restore(remote_config, everything)
    bad = sync.verify_remote(a)
    assert [p for p in bad.problems if digest in p and "missing" in p]


def test_verify_remote_checks_retention(tmp_path: Path, s3_remote: S3Remote) -> None:
    url, settings = s3_remote(lock_mode="governance", retention_days=1)
    config = state.RemoteConfig(
        url=url, endpoint_url=settings.endpoint_url, lock_mode="governance", retention_days=1
    )
    a, _ = team(tmp_path, config, ("alice", "bob"))
    (tmp_path / "disk.img").write_bytes(b"disk")
    collect.collect(a, signer("alice"), [tmp_path / "disk.img"])
    sync.sync(a, signer=signer("alice"))
    checked = sync.verify_remote(a)
    assert checked.ok, checked.problems
    assert checked.evidence_checked == 1
    # the same objects judged against a stricter setting than they were written with
    stricter = config.model_copy(update={"legal_hold": True})
    state.save_remotes(a.root, {"origin": stricter})
    assert any("legal hold" in p for p in sync.verify_remote(a).problems)
