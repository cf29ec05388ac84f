"""Every plausibility check can pass and fail; unknown spec keys are errors."""

from __future__ import annotations

import gzip
import sqlite3
import zipfile
from pathlib import Path

import pytest

from irkit.backup import spec as plausibility
from irkit.errors import InputError


def _spec(tmp_path: Path, text: str) -> plausibility.Spec:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return plausibility.load_spec(path)


def _oks(root: Path, spec: plausibility.Spec) -> list[bool]:
    return [f.ok for f in plausibility.run_checks(root, spec)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "t"
    root.mkdir()
    con = sqlite3.connect(root / "db.sqlite")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    (root / "good.gz").write_bytes(gzip.compress(b"hello" * 100))
    (root / "bad.gz").write_bytes(gzip.compress(b"hello" * 100)[:-6])
    with zipfile.ZipFile(root / "good.zip", "w") as zf:
        zf.writestr("a", b"a" * 1000)
    (root / "good.json").write_text('{"a": 1}')
    (root / "bad.json").write_text('{"a": ')
    (root / "zeros.img").write_bytes(bytes(4096 * 3) + b"\x01" * 4096)
    (root / "empty").write_bytes(b"")
    return root


def test_paths(tree: Path, tmp_path: Path) -> None:
    assert _oks(tree, _spec(tmp_path, '[[paths]]\nglob = "*.json"\nmin_count = 2')) == [True]
    assert _oks(tree, _spec(tmp_path, '[[paths]]\nglob = "*.json"\nmin_count = 3')) == [False]
    spec = _spec(tmp_path, '[[paths]]\nglob = "empty"\nnon_empty = true')
    assert _oks(tree, spec) == [True, False]
    spec = _spec(tmp_path, '[[paths]]\nglob = "good.json"\nmin_size = 9')
    assert _oks(tree, spec) == [True, False]


def test_sqlite(tree: Path, tmp_path: Path) -> None:
    good = '[[sqlite]]\nglob = "db.sqlite"\ntables = ["t"]\nmin_rows = { t = 1 }'
    assert _oks(tree, _spec(tmp_path, good)) == [True]
    assert _oks(tree, _spec(tmp_path, good.replace("t = 1", "t = 2"))) == [False]
    assert _oks(tree, _spec(tmp_path, good.replace('["t"]', '["u"]'))) == [False]
    (tree / "db.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    found = plausibility.run_checks(tree, _spec(tmp_path, good))
    assert not found[0].ok and "db.sqlite" in found[0].message
    assert _oks(tree, _spec(tmp_path, '[[sqlite]]\nglob = "none*.sqlite"')) == [False]


def test_sqlite_opened_read_only(tree: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in tree.iterdir())
    plausibility.run_checks(tree, _spec(tmp_path, '[[sqlite]]\nglob = "*.sqlite"'))
    assert sorted(p.name for p in tree.iterdir()) == before  # no journal, no -wal created


def test_archives_json_zeros(tree: Path, tmp_path: Path) -> None:
    spec = _spec(tmp_path, '[[archives]]\nglob = "*.gz"\n[[archives]]\nglob = "*.zip"')
    assert _oks(tree, spec) == [False, True, True]  # bad.gz, good.gz, good.zip
    assert _oks(tree, _spec(tmp_path, '[[json]]\nglob = "*.json"')) == [False, True]
    assert plausibility.zero_percent(tree / "zeros.img") == 75
    assert _oks(tree, _spec(tmp_path, '[[zeros]]\nglob = "*.img"\nmax_percent = 80')) == [True]
    assert _oks(tree, _spec(tmp_path, '[[zeros]]\nglob = "*.img"\nmax_percent = 50')) == [False]


def test_command(tree: Path, tmp_path: Path) -> None:
    ok = _spec(tmp_path, '[[command]]\nrun = ["test", "-s", "good.json"]')
    assert _oks(tree, ok) == [True]
    bad = plausibility.run_checks(
        tree, _spec(tmp_path, '[[command]]\nrun = ["sh", "-c", "echo why; exit 1"]')
    )
    assert not bad[0].ok and "why" in bad[0].message
    slow = plausibility.run_checks(
        tree, _spec(tmp_path, '[[command]]\nrun = ["sleep", "5"]\ntimeout = 1')
    )
    assert not slow[0].ok and "timed out" in slow[0].message


@pytest.mark.parametrize(
    "text",
    [
        '[[paths]]\nglob = "x"\nmin_cuont = 1',
        '[[unknown]]\nglob = "x"',
        '[[zeros]]\nglob = "x"\nmax_percent = 101',
        '[[paths]]\nglob = "x"\nmin_count = "1"',
        "not toml [",
    ],
)
def test_bad_spec(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match="spec"):
        _spec(tmp_path, text)


def test_glob_cannot_leave_the_tree(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inside the backup"):
        plausibility.run_checks(tree, _spec(tmp_path, '[[paths]]\nglob = "../*"'))
