"""Every manifest format irkit writes reads back to the same names, sizes and digests,
including names that are not UTF-8 or hold newlines and carriage returns."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from irkit.errors import InputError
from irkit.hashing import files as hashing
from irkit.hashing import manifests

NAMES = [
    b"plain.txt",
    b"with space",
    b"new\nline",
    b"carriage\rreturn",
    b"back\\slash",
    b"latin1-\xe9\xff",
    b"tab\there",
    b"amp&<lt>\"q'",
    "emoji-\U0001f600".encode(),  # non-BMP: RFC 8785 orders by UTF-16, not code points
    "last-\uffff".encode(),
]


@pytest.fixture
def records(tmp_path: Path) -> list[hashing.FileRecord]:
    root = os.fsencode(tmp_path / "t")
    os.mkdir(root)
    for i, name in enumerate(NAMES):
        with open(os.path.join(root, name), "wb") as fh:
            fh.write(bytes([i]) * (i * 1000))
    recs = hashing.hash_paths([root], ("sha256", "md5", "blake2b"))
    assert [r.kind for r in recs] == ["file"] * len(NAMES)
    return recs


def _want(recs: list[hashing.FileRecord]) -> dict[bytes, tuple[int, dict[str, str]]]:
    return {r.path: (r.size, r.digests) for r in recs}


Reader = Callable[[bytes], tuple[list[str], dict[bytes, tuple[int, dict[str, str]]]]]


@pytest.mark.parametrize(
    ("write", "read"),
    [
        (
            lambda r, a: b"".join(manifests.iter_dfxml(r, a, "2026-01-01T00:00:00Z")),
            manifests.read_dfxml,
        ),
        (lambda r, a: b"".join(manifests.iter_csv(r, a)), manifests.read_csv),
        (
            lambda r, a: b"".join(manifests.iter_json(r, a, [b"/x"], "2026-01-01T00:00:00Z")),
            manifests.read_json,
        ),
    ],
    ids=["dfxml", "csv", "json"],
)
def test_round_trip_keeps_awkward_names(
    records: list[hashing.FileRecord], write: Callable[..., bytes], read: Reader
) -> None:
    algorithms = ("sha256", "md5", "blake2b")
    data = write(records, algorithms)
    got_algorithms, files = read(data)
    assert got_algorithms == list(algorithms)
    assert files == _want(records)
    # and `load` picks the format by itself and reduces to sha256
    algorithm, digests = manifests.load(data)
    assert algorithm == "sha256"
    assert digests == {r.path: r.digests["sha256"] for r in records}


def test_dfxml_is_well_formed_with_fileobjects(records: list[hashing.FileRecord]) -> None:
    data = b"".join(manifests.iter_dfxml(records, ("sha256", "md5"), "2026-01-01T00:00:00Z"))
    root = ET.fromstring(data)
    ns = {"d": manifests.DFXML_NS}
    objs = root.findall("d:fileobject", ns)
    assert len(objs) == len(NAMES)
    first = objs[0]
    assert first.find("d:filesize", ns) is not None
    types = [h.get("type") for h in first.findall("d:hashdigest", ns)]
    assert types == ["sha256", "md5"]
    # a non-UTF-8 name is base64, marked so
    b64 = [f for f in root.iter(f"{{{manifests.DFXML_NS}}}filename") if f.get("encoding")]
    # latin1, carriage return (XML would normalise \r to \n) and U+FFFF (not an XML char)
    assert len(b64) == 3
    if shutil.which("xmllint"):
        subprocess.run(["xmllint", "--noout", "-"], input=data, check=True)


def test_dfxml_refuses_entities() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(InputError, match="DOCTYPE"):
        manifests.read_dfxml(evil)
    with pytest.raises(InputError, match="well-formed"):
        manifests.read_dfxml(b"<dfxml><fileobject>")


@pytest.mark.parametrize(
    "data",
    [
        b"path,path_encoding,size,sha256\nx,utf-8,notanumber,ab\n",
        b"path,path_encoding,size,sha256\nx,utf-8,1\n",
        b"path,path_encoding,size,sha256\n!!,base64,1,ab\n",
        b"path,path_encoding,size,sha256\nx,utf-8,1,ab\nx,utf-8,1,ab\n",
        b"name,size\n",
    ],
)
def test_malformed_csv_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(InputError):
        manifests.read_csv(data)


def test_unknown_algorithm_in_manifest_is_refused() -> None:
    data = b"path,path_encoding,size,whirlpool\nx,utf-8,1,ab\n"
    with pytest.raises(InputError, match="unknown digest"):
        manifests.load(data)


def test_sums_escaping_matches_coreutils(tmp_path: Path) -> None:
    """GNU coreutils escapes \\ and newline and marks the line with a leading backslash."""
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (GNU coreutils) is not installed")
    name = b"a\\b\nc"
    path = os.path.join(os.fsencode(tmp_path), name)
    with open(path, "wb") as fh:
        fh.write(b"x")
    ours = b"".join(manifests.iter_sums(hashing.hash_paths([path], ("sha256",)), "sha256"))
    theirs = subprocess.run(["sha256sum", path], capture_output=True, check=True).stdout
    assert ours == theirs
    assert manifests.read_sums(theirs) == ("sha256", {path: hashlib.sha256(b"x").hexdigest()})


def test_json_manifest_of_nothing_still_checks(tmp_path: Path) -> None:
    data = b"".join(manifests.iter_json([], ("sha256",), [b"/empty"], "2026-01-01T00:00:00Z"))
    algorithms, files = manifests.read_json(data)
    assert algorithms == ["sha256"] and files == {}
    with pytest.raises(InputError, match="checksum"):
        manifests.read_json(data.replace(b"/empty", b"/other"))


def test_json_manifest_checksum_covers_every_file_line(
    records: list[hashing.FileRecord],
) -> None:
    """Written piece by piece, the checksum must still be that of the whole document."""
    data = b"".join(manifests.iter_json(records, ("sha256",), [b"/x"], "2026-01-01T00:00:00Z"))
    manifests.read_json(data)
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if b'"size": ' in line:
            edited = line.replace(b'"size": ', b'"size": 1', 1)
            with pytest.raises(InputError, match="checksum"):
                manifests.read_json(b"\n".join([*lines[:i], edited, *lines[i + 1 :]]))
    dropped = [line for line in lines if b"plain.txt" not in line]
    with pytest.raises(InputError):
        manifests.read_json(b"\n".join(dropped))
