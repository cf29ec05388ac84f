"""`--compare meta` (mode, owner, mtime, symlink targets, empty directories, hardlink
groups), spec rules that match nothing, and [[archives]] opened by their real type."""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from irkit.backup import manifest as backupmanifest
from irkit.backup import spec as plausibility
from irkit.backup import testrestore
from irkit.errors import InputError


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "etc").mkdir()
    key = root / "etc" / "server.key"
    key.write_text("secret")
    key.chmod(0o600)
    tool = root / "run.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (root / "spool").mkdir()  # empty: a daemon needs it
    (root / "current").symlink_to("etc/server.key")
    (root / "zone").symlink_to("/usr/share/zoneinfo/UTC")
    (root / "data").write_text("shared")
    os.link(root / "data", root / "data.hard")
    for p in (key, tool, root / "data"):
        os.utime(p, (1_700_000_000, 1_700_000_000))
    return root


def _tar(src: Path, out: Path) -> Path:
    subprocess.run(["tar", "-czf", str(out), "-C", str(src), "."], check=True)
    return out


def test_meta_round_trip_passes_and_differences_are_named(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    manifest = tmp_path / "m.json"
    backupmanifest.write(src, manifest, meta=True)
    loaded = backupmanifest.load_manifest(manifest)
    assert loaded.meta is not None and loaded.meta.empty_dirs == ["spool"]
    assert loaded.meta.symlinks == {"current": "etc/server.key", "zone": "/usr/share/zoneinfo/UTC"}
    assert loaded.meta.hardlinks == [["data", "data.hard"]]
    good = _tar(src, tmp_path / "good.tar.gz")
    result = testrestore.run_verify(good, manifest=manifest, compare_meta=True)
    assert result.verdict == "PASS", result.failures
    assert any(f.check == "meta" and f.ok for f in result.checks)

    (src / "etc" / "server.key").chmod(0o644)
    (src / "current").unlink()
    (src / "current").symlink_to("run.sh")
    (src / "spool").rmdir()
    (src / "data.hard").unlink()
    shutil.copy(src / "data", src / "data.hard")
    bad = _tar(src, tmp_path / "bad.tar.gz")
    content_only = testrestore.run_verify(bad, manifest=manifest)
    assert content_only.verdict == "PASS", content_only.failures  # same bytes everywhere
    result = testrestore.run_verify(bad, manifest=manifest, compare_meta=True)
    assert result.verdict == "FAIL"
    text = "\n".join(result.failures)
    assert "etc/server.key: mode 0644, 0600 expected" in text
    assert "current: symlink points to run.sh, etc/server.key expected" in text
    assert "spool: empty directory missing" in text
    assert "hardlink group data, data.hard: not restored as one file" in text


def test_meta_needs_a_meta_manifest(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    manifest = tmp_path / "m.json"
    backupmanifest.write(src, manifest)
    archive = _tar(src, tmp_path / "b.tar.gz")
    with pytest.raises(InputError, match="--meta"):
        testrestore.run_verify(archive, manifest=manifest, compare_meta=True)
    assert testrestore.run_verify(archive, source=src, compare_meta=True).verdict == "PASS"


@pytest.mark.parametrize("rule", ["archives", "json", "zeros"])
def test_a_rule_matching_nothing_is_a_finding(tmp_path: Path, rule: str) -> None:
    (tmp_path / "a.txt").write_text("x")
    extra = {"max_percent": 50} if rule == "zeros" else {}
    spec = plausibility.Spec.model_validate({rule: [{"glob": "*.nothing", **extra}]})
    findings = plausibility.run_checks(tmp_path, spec)
    assert [(f.ok, f.message) for f in findings] == [(False, "*.nothing: no file matches")]


def test_archives_opened_by_real_type(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_bytes(os.urandom(50_000))
    tree = tmp_path / "t"
    tree.mkdir()
    raw = tmp_path / "x.tar"
    subprocess.run(["tar", "-cf", str(raw), "-C", str(src), "."], check=True)
    packed = lzma.compress(raw.read_bytes())
    (tree / "good.tar.xz").write_bytes(packed)
    (tree / "cut.tar.xz").write_bytes(packed[: len(packed) // 2])
    spec = plausibility.Spec.model_validate({"archives": [{"glob": "*.tar.xz"}]})
    got = {f.message.split(":")[0]: f.ok for f in plausibility.run_checks(tree, spec)}
    assert got == {"cut.tar.xz": False, "good.tar.xz": True}
