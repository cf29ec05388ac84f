"""Every file a user hands irkit, malformed in every way found so far: one error line and
exit 2, never a traceback (python-tuf's invalid-metadata tests are the model: one table per
input type, each row a defect). JSON rows keep a valid self-checksum, so the defect is past
the checksum and reaches the type checks."""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.backup import manifest
from irkit.errors import InputError
from irkit.formats import jsonload
from irkit.formats.canonical import canonical_bytes
from irkit.hashing import manifests
from irkit.hashing.files import FileRecord
from irkit.record.case import Case

DEEP = 100_000
SHA = "ab" * 32


def _one_line_exit_2(r: Any) -> None:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("irkit: error: ")
    assert len(lines) <= 2 and all(x.startswith(("irkit: error: ", "hint: ")) for x in lines)


# --- irkit's JSON hash manifest -------------------------------------------------------


def _hash_doc() -> dict[str, Any]:
    recs = [FileRecord(b"tree/a", "file", 1, {"sha256": SHA})]
    data = b"".join(manifests.iter_json(recs, ["sha256"], [b"tree"], "2026-01-01T00:00:00Z"))
    doc: dict[str, Any] = json.loads(data)
    return doc


def _seal(doc: dict[str, Any]) -> bytes:
    """DOC with a checksum that matches: the defect is in what the checksum covers."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    digest = hashlib.sha256(canonical_bytes(body)).hexdigest()
    return json.dumps({**body, "checksum": {"sha256": digest}}).encode()


def _edit(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = copy.deepcopy(_hash_doc())
    change(doc)
    return _seal(doc)


def _file(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["files"][0] = {**doc["files"][0], **fields}
        for key in [k for k, v in fields.items() if v is _DROP]:
            del doc["files"][0][key]

    return change


_DROP = object()


def _deep_json(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


JSON_MANIFESTS: dict[str, bytes] = {
    "path is an int": _edit(_file(path=5)),
    "path is empty": _edit(_file(path="")),
    "path and path_b64": _edit(_file(path_b64="YQ==")),
    "path_b64 not base64": _edit(_file(path=_DROP, path_b64="!!")),
    "path_b64 is a list": _edit(_file(path=_DROP, path_b64=["YQ=="])),
    "no path": _edit(_file(path=_DROP)),
    "size is a string": _edit(_file(size="1")),
    "size is a bool": _edit(_file(size=True)),
    "size is negative": _edit(_file(size=-1)),
    "size is a float": _edit(_file(size=1.5)),
    "digests not an object": _edit(_file(digests=["x"])),
    "digest is an int": _edit(_file(digests={"sha256": 5})),
    "digest not hex": _edit(_file(digests={"sha256": "zz" * 32})),
    "digest too short": _edit(_file(digests={"sha256": "ab"})),
    "digest of an unknown algorithm": _edit(_file(digests={"sha256": SHA, "crc": "00"})),
    "digests lack the algorithm": _edit(_file(digests={"md5": "ab" * 16})),
    "unknown record field": _edit(_file(mode=0o644)),
    "record is a list": _edit(lambda d: d.update(files=[["tree/a", 1]])),
    "record is a string": _edit(lambda d: d.update(files=["tree/a"])),
    "files is an object": _edit(lambda d: d.update(files={"tree/a": 1})),
    "files is an int": _edit(lambda d: d.update(files=5)),
    "files missing": _edit(lambda d: d.pop("files")),
    "algorithms is a string": _edit(lambda d: d.update(algorithms="sha256")),
    "algorithms holds an int": _edit(lambda d: d.update(algorithms=[5])),
    "algorithms unknown": _edit(lambda d: d.update(algorithms=["crc32"])),
    "algorithms empty": _edit(lambda d: d.update(algorithms=[])),
    "version is true": _edit(lambda d: d.update(version=True)),
    "version is a string": _edit(lambda d: d.update(version="1")),
    "path twice": _edit(lambda d: d.update(files=d["files"] * 2)),
    "nested 100 deep": _edit(lambda d: d.update(extra=_deep_json(100))),
    "nested 100000 deep": b'{"type": "irkit-hash-manifest", "x": '
    + b"[" * DEEP
    + b"]" * DEEP
    + b"}",
    "duplicate key": _seal(_hash_doc()).replace(b'{"type": ', b'{"type": "x", "type": ', 1),
    "NaN": _seal(_hash_doc()).replace(b'"size": 1', b'"size": NaN', 1),
    "huge exponent": _seal(_hash_doc()).replace(b'"size": 1', b'"size": 1e999', 1),
    "checksum is a number": _seal(_hash_doc()).replace(b'{"sha256": "', b'{"sha256": 1, "x": "'),
    "not UTF-8": b'{"type": "\xff"}',
    "lone surrogate": _seal(_hash_doc()).replace(b'"tree/a"', b'"\\ud800"', 1),
    "truncated": _seal(_hash_doc())[:-30],
    "an array": b"[]",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a").write_text("a")
    return tmp_path


def test_a_sealed_manifest_without_defect_is_read(tree: Path, irkit: Any) -> None:
    """The table's base document is valid: every row fails for its own defect."""
    (tree / "m.json").write_bytes(_seal(_hash_doc()))
    r = irkit("hash", "--audit", "m.json", "tree")
    assert r.exit_code == 1 and "changed: tree/a" in r.output  # read, compared, differs


@pytest.mark.parametrize("case", list(JSON_MANIFESTS))
def test_json_hash_manifest(case: str, tree: Path, irkit: Any) -> None:
    (tree / "m.json").write_bytes(JSON_MANIFESTS[case])
    with pytest.raises(InputError):
        manifests.load(JSON_MANIFESTS[case])
    _one_line_exit_2(irkit("hash", "--audit", "m.json", "tree"))


# --- sha256sum and hashdeep manifests --------------------------------------------------

HASHDEEP_HEAD = b"%%%% HASHDEEP-1.0\n%%%% size,sha256,filename\n## Invoked from: /x\n"
SUM_MANIFESTS: dict[str, bytes] = {
    "digest not hex": b"zz" * 32 + b"  tree/a\n",
    "digest with 0x": b"0x" + b"ab" * 31 + b"  tree/a\n",
    "digest with a sign": b"+" + b"a" * 63 + b"  tree/a\n",
    "digest with underscores": b"a_" * 32 + b"  tree/a\n",
    "digest of unknown length": b"abc  tree/a\n",
    "digests of two lengths": SHA.encode() + b"  tree/a\n" + b"ab" * 16 + b"  tree/b\n",
    "no name": SHA.encode() + b"\n",
    "empty name": SHA.encode() + b"  \n",
    "one space only": SHA.encode() + b" tree/a\n",
    "path twice": (SHA.encode() + b"  tree/a\n") * 2,
    "binary garbage": bytes(range(256)) * 4,
    "empty": b"",
    "NUL digest": b"\x00" * 64 + b"  tree/a\n",
    "hashdeep without columns": b"%%%% HASHDEEP-1.0\n1," + SHA.encode() + b",/x/tree/a\n",
    "hashdeep without a digest column": b"%%%% HASHDEEP-1.0\n%%%% size,filename\n1,/x/a\n",
    "hashdeep columns not size first": b"%%%% HASHDEEP-1.0\n%%%% sha256,size,filename\n",
    "hashdeep missing field": HASHDEEP_HEAD + b"1,/x/tree/a\n",
    "hashdeep size not a number": HASHDEEP_HEAD + b"x," + SHA.encode() + b",/x/tree/a\n",
    "hashdeep digest not hex": HASHDEEP_HEAD + b"1," + b"zz" * 32 + b",/x/tree/a\n",
    "hashdeep digest short": HASHDEEP_HEAD + b"1,abcd,/x/tree/a\n",
    "hashdeep empty name": HASHDEEP_HEAD + b"1," + SHA.encode() + b",\n",
    "hashdeep path twice": HASHDEEP_HEAD + (b"1," + SHA.encode() + b",/x/tree/a\n") * 2,
    "hashdeep binary garbage": b"%%%% HASHDEEP-1.0\n%%%% size,sha256,filename\n\xff\x00\xfe\n",
}


@pytest.mark.parametrize("case", list(SUM_MANIFESTS))
def test_sum_and_hashdeep_manifest(case: str, tree: Path, irkit: Any) -> None:
    (tree / "m.txt").write_bytes(SUM_MANIFESTS[case])
    with pytest.raises(InputError):
        manifests.load(SUM_MANIFESTS[case])
    _one_line_exit_2(irkit("hash", "--audit", "m.txt", "tree"))


def test_crlf_manifests_are_read(tree: Path, irkit: Any) -> None:
    """A manifest saved on Windows: the CR ends the line, it is no part of the name."""
    digest = hashlib.sha256(b"a").hexdigest().encode()
    (tree / "m.txt").write_bytes(digest + b"  tree/a\r\n")
    r = irkit("hash", "--audit", "m.txt", "tree")
    assert r.exit_code == 0 and "matched 1" in r.output, r.output
    cwd = str(tree).encode()
    (tree / "m.hd").write_bytes(
        b"%%%% HASHDEEP-1.0\r\n%%%% size,sha256,filename\r\n## x\r\n"
        + b"1,"
        + digest
        + b","
        + cwd
        + b"/tree/a\r\n"
    )
    r = irkit("hash", "--audit", "m.hd", "tree")
    assert r.exit_code == 0 and "matched 1" in r.output, r.output


# --- backup spec (TOML) -----------------------------------------------------------------

SPECS: dict[str, str] = {
    'glob = ""': '[[paths]]\nglob = ""\n',
    "glob '.'": '[[paths]]\nglob = "."\n',
    "glob with a bad **": '[[sqlite]]\nglob = "**.db"\n',
    "glob absolute": '[[json]]\nglob = "/etc/*"\n',
    "glob outside": '[[archives]]\nglob = "../*"\n',
    "glob with NUL": '[[zeros]]\nglob = "a\\u0000b"\nmax_percent = 5\n',
    "glob an int": "[[paths]]\nglob = 5\n",
    "glob missing": "[[paths]]\nmin_count = 1\n",
    "min_count a string": '[[paths]]\nglob = "*"\nmin_count = "5"\n',
    "min_count negative": '[[paths]]\nglob = "*"\nmin_count = -1\n',
    "min_count a float": '[[paths]]\nglob = "*"\nmin_count = 1.5\n',
    "non_empty a string": '[[paths]]\nglob = "*"\nnon_empty = "yes"\n',
    "tables a string": '[[sqlite]]\nglob = "*"\ntables = "records"\n',
    "table empty": '[[sqlite]]\nglob = "*"\ntables = [""]\n',
    "table with NUL": '[[sqlite]]\nglob = "*"\ntables = ["a\\u0000"]\n',
    "min_rows a list": '[[sqlite]]\nglob = "*"\nmin_rows = [1]\n',
    "max_percent 101": '[[zeros]]\nglob = "*"\nmax_percent = 101\n',
    "run empty": "[[command]]\nrun = []\n",
    "run a string": '[[command]]\nrun = "true"\n',
    "run an empty argument": '[[command]]\nrun = [""]\n',
    "run with NUL": '[[command]]\nrun = ["tr\\u0000ue"]\n',
    "timeout 0": '[[command]]\nrun = ["true"]\ntimeout = 0\n',
    "timeout huge": '[[postgres]]\nglob = "*"\ntimeout = 99999999999999999999\n',
    "paths a table": '[paths]\nglob = "*"\n',
    "unknown section": '[[sqlit]]\nglob = "*"\n',
    "unknown key": '[[paths]]\nglob = "*"\nmin_cuont = 1\n',
    "nested 100000 deep": "x = " + "[" * DEEP + "]" * DEEP + "\n",
    "nested tables": "[" + ".".join(["a"] * 5000) + "]\n",
    "not TOML": "[[paths]\n",
}


@pytest.mark.parametrize("case", list(SPECS))
def test_backup_spec(
    case: str, tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPECS[case], encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    r = irkit("backup", "verify", str(data), "--source", str(data), "--spec", str(spec))
    _one_line_exit_2(r)
    assert "spec" in r.stderr
    assert list(scratch.iterdir()) == []  # refused before anything was restored


def test_spec_not_utf8(tmp_path: Path, irkit: Any) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b'[[paths]]\nglob = "\xff"\n')
    r = irkit("backup", "verify", str(tmp_path), "--source", str(tmp_path), "--spec", str(spec))
    _one_line_exit_2(r)


# --- case settings (TOML) ---------------------------------------------------------------

SETTINGS: dict[str, str] = {
    "priorities = 5": "priorities = 5\n",
    'tiers = "x"': 'tiers = "x"\n',
    "priorities a list": "priorities = [1, 2]\n",
    "calendars = 5": "calendars = 5\n",
    "a priority = 5": '[priorities]\n"2" = 5\n',
    "matrix a string": 'matrix = "x"\n',
    "matrix ragged": "matrix = [[1, 2], [1]]\n",
    "matrix names no target": "matrix = [[1, 9]]\n",
    "zone = 5": "zone = 5\n",
    "zone unknown": 'zone = "Mars/Olympus"\n',
    "zone with NUL": 'zone = "UTC\\u0000"\n',
    "preset = 5": "preset = 5\n",
    "preset unknown": 'preset = "itil4"\n',
    "huge duration": '[priorities.2]\nresolve = "99999999999999999999d"\n',
    "too long": '[priorities.2]\nresolve = "5000d"\n',
    "huge integer": "[priorities.2]\nresolve = 99999999999999999999\n",
    "negative duration": "[priorities.2]\nresolve = -5\n",
    "negative duration text": '[priorities.2]\nresolve = "-5h"\n',
    "duration a float": "[priorities.2]\nresolve = 1.5\n",
    "duration a bool": "[priorities.2]\nresolve = true\n",
    "duration a list": "[priorities.2]\nresolve = [1]\n",
    "warn_permille huge": "warn_permille = 99999999999999999999\n",
    "auto_close_days 0": "auto_close_days = 0\n",
    "unknown key": "colour = 1\n",
    "unknown weekday": '[calendars.business]\nhours = { moon = ["08:00-17:00"] }\n',
    "hours backwards": '[calendars.business]\nhours = { mon = ["17:00-08:00"] }\n',
    "holiday not a date": '[calendars.business]\nholidays = ["2026-13-45"]\n',
    "holidays a string": '[calendars.business]\nholidays = "2026-12-25"\n',
    "nested 100000 deep": "x = " + "[" * DEEP + "]" * DEEP + "\n",
    "not TOML": "priorities = \n",
}


@pytest.mark.parametrize("case", list(SETTINGS))
def test_case_settings(case: str, tmp_path: Path, irkit: Any) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(SETTINGS[case], encoding="utf-8")
    r = irkit("case", "configure", "--file", str(settings), "--reason", "r")
    _one_line_exit_2(r)
    assert "settings" in r.stderr


def test_bad_settings_leave_the_journal_alone(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("priorities = 5\n", encoding="utf-8")
    before = (case.root / "journal.jsonl").read_bytes()
    r = irkit(
        "case", "configure", "--file", str(settings), "--reason", "r",
        case=case.root, key=key_files.alice,
    )  # fmt: skip
    _one_line_exit_2(r)
    assert (case.root / "journal.jsonl").read_bytes() == before


# --- backup manifest (JSON, PostgreSQL-style checksum) ----------------------------------


def _backup_doc(files: Any, version: Any = 1, raw_files: str | bytes | None = None) -> bytes:
    """A backup manifest whose Manifest-Checksum matches its body, whatever the body says."""
    listed = raw_files if raw_files is not None else json.dumps(files)
    listed = listed if isinstance(listed, bytes) else listed.encode()
    body = f'{{"Manifest-Version": {json.dumps(version)},\n"Files": '.encode() + listed + b",\n"
    tail = b'"Manifest-Checksum": "' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'
    return body + tail


def _rec(**fields: Any) -> dict[str, Any]:
    rec = {"Path": "f", "Size": 1, "Checksum-Algorithm": "SHA256", "Checksum": SHA}
    rec.update(fields)
    return {k: v for k, v in rec.items() if v is not _DROP}


BACKUP_MANIFESTS: dict[str, bytes] = {
    "Path an int": _backup_doc([_rec(Path=5)]),
    "Path empty": _backup_doc([_rec(Path="")]),
    "Path missing": _backup_doc([_rec(Path=_DROP)]),
    "Path with NUL": _backup_doc([_rec(Path="a\x00b")]),
    "Size a string": _backup_doc([_rec(Size="1")]),
    "Size a bool": _backup_doc([_rec(Size=True)]),
    "Size negative": _backup_doc([_rec(Size=-1)]),
    "Size a float": _backup_doc([_rec(Size=1.0)]),
    "Checksum not hex": _backup_doc([_rec(Checksum="zz" * 32)]),
    "Checksum upper case": _backup_doc([_rec(Checksum=SHA.upper())]),
    "Checksum an int": _backup_doc([_rec(Checksum=5)]),
    "Checksum without algorithm": _backup_doc([_rec(**{"Checksum-Algorithm": "MD5"})]),
    "unknown key": _backup_doc([_rec(Owner=1)]),  # (Mode is a --meta field)
    "entry a list": _backup_doc([["f", 1]]),
    "Files an object": _backup_doc({"f": 1}),
    "Files a string": _backup_doc("f"),
    "Path twice": _backup_doc([_rec(), _rec()]),
    "version true": _backup_doc([_rec()], version=True),
    "version 1.0": _backup_doc([_rec()], version=1.0),
    "version a string": _backup_doc([_rec()], version="1"),
    "duplicate key": _backup_doc([], raw_files='[{"Path": "f", "Path": "g", "Size": 1}]'),
    "NaN": _backup_doc([], raw_files='[{"Path": "f", "Size": NaN}]'),
    "nested 100000 deep": _backup_doc([], raw_files="[" * DEEP + "]" * DEEP),
    "nested 100 deep": _backup_doc([_rec(Path=_deep_json(100))]),
    "no checksum": b'{"Manifest-Version": 1, "Files": []}\n',
    "not UTF-8": _backup_doc([], raw_files=b'["\xff"]'),
}


@pytest.mark.parametrize("case", list(BACKUP_MANIFESTS))
def test_backup_manifest(case: str, tmp_path: Path, irkit: Any) -> None:
    data = BACKUP_MANIFESTS[case]
    with pytest.raises(InputError):
        manifest.parse(data)
    (tmp_path / "m.json").write_bytes(data)
    (tmp_path / "d").mkdir()
    r = irkit("backup", "verify", str(tmp_path / "d"), "--manifest", str(tmp_path / "m.json"))
    _one_line_exit_2(r)


def test_backup_manifest_base_row_is_valid() -> None:
    assert manifest.parse(_backup_doc([_rec()])) == [manifest.FileRecord("f", 1, SHA)]


# --- the shared loader ------------------------------------------------------------------

LOADER: dict[str, bytes] = {
    "duplicate key": b'{"a": 1, "a": 2}',
    "nested duplicate key": b'[{"b": {"a": 1, "a": 1}}]',
    "NaN": b"[NaN]",
    "Infinity": b"[-Infinity]",
    "float overflow": b"[1e400]",
    "65 deep": b"[" * 65 + b"]" * 65,
    "100000 deep": b"[" * DEEP + b"]" * DEEP,
    "100000 deep objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "not UTF-8": b'"\xff"',
    "huge integer": b"1" * 5000,
    "trailing garbage": b"{} x",
}


@pytest.mark.parametrize("case", list(LOADER))
def test_shared_json_loader(case: str) -> None:
    with pytest.raises(InputError):
        jsonload.loads(LOADER[case], what="input")


def test_shared_json_loader_accepts_brackets_in_strings() -> None:
    text = b'{"name": "' + b"[" * 500 + b'", "deep": [[[1]]]}'
    assert jsonload.loads(text)["deep"] == [[[1]]]
    assert jsonload.loads(b"[" * 64 + b"]" * 64) is not None


# --- exhibits (the outer document; its lines are journal entries, checked as such) ------

EXHIBITS: dict[str, tuple[bytes, str]] = {  # the document, what the one line must name
    "nested 100000 deep": (
        b'{"type": "irkit-exhibit", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        "nested too deeply",
    ),
    "nested 100 deep": (
        json.dumps({"type": "irkit-exhibit", "x": _deep_json(100)}).encode(),
        "nested too deeply",
    ),
    "duplicate key": (
        b'{"type": "irkit-exhibit", "type": "irkit-exhibit", "format": 1}',
        "duplicate key 'type'",
    ),
    "NaN": (b'{"type": "irkit-exhibit", "format": NaN}', "NaN is not JSON"),
    "not UTF-8": (b'{"type": "\xff"}', "not valid JSON"),
}


@pytest.mark.parametrize("case", list(EXHIBITS))
def test_exhibit(case: str, tmp_path: Path, irkit: Any) -> None:
    data, named = EXHIBITS[case]
    (tmp_path / "e.json").write_bytes(data)
    r = irkit("exhibit", "verify", str(tmp_path / "e.json"), "--trust", "ed25519:" + "0" * 64)
    _one_line_exit_2(r)
    assert "malformed exhibit" in r.stderr and named in r.stderr
