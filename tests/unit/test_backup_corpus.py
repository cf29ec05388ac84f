"""The hostile and damaged corpus (tests/backupcorpus.py): every artifact gets a verdict
with named findings, healthy ones PASS, and nothing is ever written outside scratch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irkit.backup import testrestore
from tests import backupcorpus

ABS_TARGET = Path("/tmp/irkit-corpus-abs.txt")


def _tree(top: Path) -> set[str]:
    return {str(p) for p in top.rglob("*")}


@pytest.mark.parametrize("case", backupcorpus.CASES, ids=lambda c: c.name)
def test_corpus_case(
    case: backupcorpus.Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = backupcorpus.missing_tools(case)
    if missing:
        pytest.skip(f"NOT TESTED: {', '.join(missing)} not installed (.ci/run installs it)")
    top = tmp_path / "top"
    top.mkdir()
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch_parent))
    artifact = case.build(top)
    before = _tree(top)
    result = testrestore.run_verify(artifact, source=top / "src", limit_options=case.limits)
    failures = result.failures
    notices = [f"{m}: {n}" for m, n in result.notices]
    assert result.verdict == case.verdict, (failures, notices)
    for want in case.fail:
        assert any(want in f for f in failures), (want, failures)
    for want in case.notices:
        assert any(want in n for n in notices), (want, notices)
    if case.verdict == "PASS":
        assert failures == []
    # nothing outside scratch, and scratch itself is gone
    assert _tree(top) == before
    assert not ABS_TARGET.exists()
    assert list(scratch_parent.iterdir()) == []


def test_hostile_members_after_a_long_name_are_all_listed(tmp_path: Path) -> None:
    case = next(c for c in backupcorpus.CASES if c.name == "hostile members")
    artifact = case.build(tmp_path)
    result = testrestore.run_verify(artifact, source=tmp_path / "src")
    refused = [m for m, _ in result.refused]
    assert refused[0] == "n" * 300 and "../../escape.txt" in refused and "hard" in refused
    assert result.comparison.matched == sorted(backupcorpus.GOOD) or set(
        result.comparison.matched
    ) == set(backupcorpus.GOOD)


def test_sparse_member_is_restored_as_holes(tmp_path: Path) -> None:
    case = next(c for c in backupcorpus.CASES if c.name == "sparse image")
    artifact = case.build(tmp_path)
    keep = tmp_path / "kept"
    result = testrestore.run_verify(artifact, source=tmp_path / "src", keep=keep)
    assert result.verdict == "PASS"
    st = os.stat(keep / "disk.img")
    assert st.st_size == 48 << 20 and st.st_blocks * 512 < 8 << 20  # holes, not zeros


def test_detection_by_structure_and_type_override(tmp_path: Path) -> None:
    from irkit.backup import extract

    sql = next(c for c in backupcorpus.CASES if c.name == "tar with a SQL dump first")
    xlsx = next(c for c in backupcorpus.CASES if c.name == "tar with an xlsx last")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert extract.detect(sql.build(tmp_path / "a")).kind == "tar"
    assert extract.detect(xlsx.build(tmp_path / "b")).kind == "tar"
    dump = tmp_path / "dump.sql"
    dump.write_bytes(b"SELECT 1;\n")  # no pg_dump header: unrecognised, unless forced
    assert extract.detect(dump).kind == "unknown"
    assert extract.detect(dump, "pg-plain").kind == "pg-plain"


def test_limits_from_spec_and_options(tmp_path: Path) -> None:
    case = next(c for c in backupcorpus.CASES if c.name == "compression bomb")
    artifact = case.build(tmp_path)
    spec = tmp_path / "spec.toml"
    spec.write_text('[limits]\nmax_ratio = 100000\nmax_total = "1G"\n', encoding="utf-8")
    result = testrestore.run_verify(artifact, source=tmp_path / "src", spec=spec)
    assert not any("ratio" in f for f in result.failures)  # huge.log is now allowed
    assert result.limits["max_ratio"] == 100000 and result.limits["max_total"] == 1 << 30
    again = testrestore.run_verify(
        artifact, source=tmp_path / "src", spec=spec, limit_options={"max_ratio": 10}
    )
    assert any("member 'huge.log'" in f and "10:1" in f for f in again.failures)


def test_members_after_a_damaged_header_are_restored(tmp_path: Path) -> None:
    case = next(c for c in backupcorpus.CASES if c.name == "damaged header mid-archive")
    result = testrestore.run_verify(case.build(tmp_path), source=tmp_path / "src")
    assert set(result.comparison.matched) == {"a.txt", "c.txt"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('max_total = "lots"', "not a size"),
        ("max_ratio = 0", "greater than or equal to 1"),
        ("max_rati = 5", "Extra inputs"),
    ],
)
def test_bad_limits_in_the_spec_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    from irkit.backup import spec as plausibility
    from irkit.errors import InputError

    spec = tmp_path / "spec.toml"
    spec.write_text(f"[limits]\n{text}\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        plausibility.load_spec(spec)
