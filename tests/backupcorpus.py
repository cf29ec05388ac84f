"""A corpus of hostile and damaged backup artifacts, each with its expected verdict.

Every case is built from scratch by `build(dir)`: the artifact, and the source tree it
should restore to (what `backup verify --source` compares with). `fail` and `notices` are
substrings that must appear among the verdict's failures and notices; a PASS case must
have no failure at all. Used by tests/unit/test_backup_corpus.py.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import shutil
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]  # writes the artifact (and DIR/src) under DIR, returns it
    verdict: str
    fail: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    needs: tuple[str, ...] = field(default=())  # tools that must be installed
    limits: dict[str, int] = field(default_factory=dict)  # --max-* options for this case


def _src(top: Path, files: dict[str, bytes]) -> Path:
    src = top / "src"
    src.mkdir(exist_ok=True)
    for name, data in files.items():
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return src


Member = tuple[tarfile.TarInfo, bytes]  # one tar member and its contents

GOOD = {"a.txt": b"alpha\n" * 100, "d/b.bin": os.urandom(5000), "c.txt": b"gamma\n"}


def _member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **kw: object) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o644
    for k, v in kw.items():
        setattr(info, k, v)
    return info, data


def _tar_bytes(members: list[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _good_members() -> list[Member]:
    return [_member(n, d) for n, d in GOOD.items()]


def _write(top: Path, name: str, data: bytes) -> Path:
    out = top / name
    out.write_bytes(data)
    return out


def _tar_case(
    name: str, members: Callable[[], list[Member]], files: dict[str, bytes]
) -> Callable[[Path], Path]:
    def build(top: Path) -> Path:
        _src(top, files)
        return _write(top, name, _tar_bytes(members()))

    return build


def _gz_cut(fraction: float) -> Callable[[Path], Path]:
    def build(top: Path) -> Path:
        _src(top, GOOD)
        data = gzip.compress(_tar_bytes(_good_members()))
        return _write(top, "cut.tar.gz", data[: int(len(data) * fraction)])

    return build


def _gz_flip(top: Path) -> Path:
    _src(top, GOOD)
    data = bytearray(gzip.compress(_tar_bytes(_good_members())))
    data[len(data) // 2] ^= 0xFF
    return _write(top, "flip.tar.gz", bytes(data))


def _gz_bad_crc(top: Path) -> Path:
    _src(top, GOOD)
    data = bytearray(gzip.compress(_tar_bytes(_good_members())))
    data[-8] ^= 0x01  # the CRC32 in the gzip trailer
    return _write(top, "crc.tar.gz", bytes(data))


def _xz_cut(top: Path) -> Path:
    _src(top, GOOD)
    data = lzma.compress(_tar_bytes(_good_members()))
    return _write(top, "cut.tar.xz", data[: len(data) * 2 // 3])


def _damaged_header(top: Path) -> Path:
    """The second member's header checksum broken: the third must still be restored."""
    _src(top, GOOD)
    raw = bytearray(_tar_bytes(_good_members(), tarfile.USTAR_FORMAT))
    second = 512 + 1024  # a.txt: header + 600 bytes padded to 1024
    raw[second + 148 : second + 156] = b"0000000\x00"
    return _write(top, "badheader.tar", bytes(raw))


def _damaged_first_header(top: Path) -> Path:
    _src(top, GOOD)
    raw = bytearray(_tar_bytes(_good_members(), tarfile.USTAR_FORMAT))
    raw[148:156] = b"0000000\x00"
    return _write(top, "badfirst.tar.gz", gzip.compress(bytes(raw)))


def _zeroed_header(top: Path) -> Path:
    """A header zeroed mid-archive reads as the end: the members after it are lost."""
    _src(top, GOOD)
    raw = bytearray(_tar_bytes(_good_members(), tarfile.USTAR_FORMAT))
    second = 512 + 1024
    raw[second : second + 512] = bytes(512)
    return _write(top, "zeroed.tar", bytes(raw))


def _cut_in_header(top: Path) -> Path:
    _src(top, GOOD)
    raw = _tar_bytes(_good_members(), tarfile.USTAR_FORMAT)
    return _write(top, "cuthdr.tar", raw[: 512 + 1024 + 200])


def _no_end_marker(top: Path) -> Path:
    _src(top, GOOD)
    raw = _tar_bytes(_good_members(), tarfile.USTAR_FORMAT)
    return _write(top, "noend.tar", raw[: 512 + 1024])


def _zero_byte(top: Path) -> Path:
    _src(top, GOOD)
    return _write(top, "empty.tar.gz", b"")


def _junk(top: Path) -> Path:
    _src(top, GOOD)
    return _write(top, "junk.bak", b"this is not a backup at all\n" * 50)


def _zip_bytes(top: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in GOOD.items():
            zf.writestr(n, d)
    return buf.getvalue()


def _zip_cut(top: Path) -> Path:
    _src(top, GOOD)
    data = _zip_bytes(top)
    return _write(top, "cut.zip", data[: len(data) // 2])


def _zip_link(top: Path) -> Path:
    _src(top, GOOD)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in GOOD.items():
            zf.writestr(n, d)
        link = zipfile.ZipInfo("latest")
        link.external_attr = (0o120777 << 16) | 0
        zf.writestr(link, "a.txt")
        out = zipfile.ZipInfo("escape")
        out.external_attr = 0o120777 << 16
        zf.writestr(out, "/etc/passwd")
    return _write(top, "links.zip", buf.getvalue())


def _bomb(top: Path) -> Path:
    _src(top, GOOD)
    members = [*_good_members(), _member("huge.log", b"A" * (24 << 20))]
    return _write(top, "bomb.tar.gz", gzip.compress(_tar_bytes(members)))


def _sparse(top: Path) -> Path:
    """A preallocated file, mostly zeros (a VM image, a WAL segment): no bomb."""
    image = bytearray(48 << 20)
    image[:4096] = os.urandom(4096)
    files = {**GOOD, "disk.img": bytes(image)}
    _src(top, files)
    return _write(
        top, "vm.tar.gz", gzip.compress(_tar_bytes([_member(n, d) for n, d in files.items()]))
    )


def _system_tree(top: Path) -> Path:
    """What a tar of /etc holds: absolute symlinks, a setuid binary, a device node."""
    files = {**GOOD, "bin/su": b"\x7fELF fake"}
    _src(top, files)
    members = [_member(n, d) for n, d in files.items()]
    members[-1][0].mode = 0o4755
    members += [
        _member("localtime", kind=tarfile.SYMTYPE, linkname="/usr/share/zoneinfo/UTC"),
        _member("up", kind=tarfile.SYMTYPE, linkname="../usr/lib/os-release"),
        _member("null", kind=tarfile.CHRTYPE, devmajor=1, devminor=3),
        _member("rel", kind=tarfile.SYMTYPE, linkname="a.txt"),
    ]
    return _write(top, "etc.tar.gz", gzip.compress(_tar_bytes(members)))


def _duplicates(top: Path) -> Path:
    """tar -r appends: the last copy is what tar restores."""
    _src(top, GOOD)
    members = [
        _member("a.txt", b"old version\n"),
        _member("c.txt", kind=tarfile.SYMTYPE, linkname="/etc/hostname"),  # then a file
        _member("d", kind=tarfile.DIRTYPE),
        _member("d/b.bin", kind=tarfile.SYMTYPE, linkname="../a.txt"),  # then a file
        *_good_members(),
    ]
    return _write(top, "dup.tar", _tar_bytes(members))


def _hostile(top: Path) -> Path:
    """Each hostile member refused, every one listed, whatever came before it."""
    _src(top, GOOD)
    members = [
        _member("n" * 300, b"long"),
        _member("../../escape.txt", b"x"),
        _member("/tmp/irkit-corpus-abs.txt", b"x"),
        _member("nulname.txt", b"x", pax_headers={"path": "nul\x00name.txt"}),
        _member("d2", kind=tarfile.DIRTYPE),
        _member("d2/self", kind=tarfile.SYMTYPE, linkname="."),
        _member("chain", kind=tarfile.SYMTYPE, linkname="d2/self/../.."),
        _member("hard", kind=tarfile.LNKTYPE, linkname="/etc/passwd"),
        *_good_members(),
    ]
    return _write(top, "hostile.tar", _tar_bytes(members))


def _zip_bomb(top: Path) -> Path:
    _src(top, GOOD)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.txt", b"B" * (24 << 20))
    return _write(top, "bomb.zip", buf.getvalue())


def _xz_zeros(top: Path) -> Path:
    """Zeros cost no disk, but inflating them costs time: max_apparent bounds it."""
    _src(top, GOOD)
    members = [*_good_members(), _member("zeros.img", bytes(32 << 20))]
    return _write(top, "zeros.tar.xz", lzma.compress(_tar_bytes(members)))


def _many(top: Path) -> Path:
    _src(top, GOOD)
    members = [*_good_members(), *(_member(f"m/{i}", b"") for i in range(50))]
    return _write(top, "many.tar", _tar_bytes(members))


def _zip_duplicates(top: Path) -> Path:
    _src(top, GOOD)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: wanted here
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("a.txt", b"stale copy")
            for n, d in GOOD.items():
                zf.writestr(n, d)
    return _write(top, "dup.zip", buf.getvalue())


def _zip_method(top: Path) -> Path:
    """A compression method nothing here implements (99, AES): named, never a traceback."""
    _src(top, GOOD)
    data = bytearray(_zip_bytes(top))
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    data[8:10] = (99).to_bytes(2, "little")
    return _write(top, "method.zip", bytes(data))


def _sql_first(top: Path) -> Path:
    """A tar whose first member is a SQL dump is a tar, not a plain pg_dump."""
    files = {"dump.sql": b"--\n-- PostgreSQL database dump\n--\nSELECT 1;\n", **GOOD}
    _src(top, files)
    return _write(top, "withsql.tar", _tar_bytes([_member(n, d) for n, d in files.items()]))


def _xlsx_last(top: Path) -> Path:
    """A tar whose last member is an .xlsx (a zip) is a tar, not a zip."""
    files = {**GOOD, "book.xlsx": _zip_bytes(top)}
    _src(top, files)
    return _write(top, "withxlsx.tar", _tar_bytes([_member(n, d) for n, d in files.items()]))


def _zst(top: Path) -> Path:
    import subprocess

    _src(top, GOOD)
    raw = _write(top, "z.tar", _tar_bytes(_good_members()))
    subprocess.run(["zstd", "-q", "--rm", str(raw)], check=True)
    return top / "z.tar.zst"


def _zst_cut(top: Path) -> Path:
    out = _zst(top)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


CASES = [
    Case("good tar.gz", _tar_case("good.tar", _good_members, GOOD), "PASS"),
    Case("truncated gzip 10%", _gz_cut(0.1), "FAIL", ("restore:",)),
    Case("truncated gzip 50%", _gz_cut(0.5), "FAIL", ("truncated",)),
    Case("truncated gzip 95%", _gz_cut(0.95), "FAIL", ("truncated",)),
    Case("flipped byte in gzip", _gz_flip, "FAIL", ("restore:",)),
    Case("bad gzip CRC", _gz_bad_crc, "FAIL", ("incorrect data check",)),
    Case("truncated xz", _xz_cut, "FAIL", ("truncated",)),
    Case(
        "damaged header mid-archive",
        _damaged_header,
        "FAIL",
        ("damaged tar header at byte 1536", "missing: d/b.bin"),  # c.txt after it: restored
    ),
    Case(
        "damaged first header",
        _damaged_first_header,
        "FAIL",
        ("damaged tar header at byte 0", "missing: a.txt"),  # d/b.bin and c.txt restored
    ),
    Case("zeroed header mid-archive", _zeroed_header, "FAIL", ("after the end-of-archive marker",)),
    Case("tar cut inside a header", _cut_in_header, "FAIL", ("cut short inside a header",)),
    Case("tar without end marker", _no_end_marker, "FAIL", ("without an end-of-archive marker",)),
    Case("zero-byte file", _zero_byte, "FAIL", ("artifact is empty (0 bytes)",)),
    Case("unrecognisable file", _junk, "FAIL", ("unrecognised artifact",)),
    Case("truncated zip", _zip_cut, "FAIL", ("zip archive is damaged or truncated",)),
    Case("zip with symlinks", _zip_link, "PASS", (), ("symlink to outside the tree recorded",)),
    Case("compression bomb", _bomb, "FAIL", ("member 'huge.log'", "compression ratio")),
    Case("sparse image", _sparse, "PASS"),
    Case("zip bomb", _zip_bomb, "FAIL", ("member 'huge.txt'", "compression ratio")),
    Case(
        "zeros past max_apparent",
        _xz_zeros,
        "FAIL",
        ("member 'zeros.img'", "holes included"),
        limits={"max_apparent": 16 << 20},
    ),
    Case(
        "entry-count bomb",
        _many,
        "FAIL",
        ("entry count exceeds limit 20",),
        limits={"max_entries": 20},
    ),
    Case("zip with an unknown method", _zip_method, "FAIL", ("'a.txt' cannot be read",)),
    Case("zip duplicate members", _zip_duplicates, "PASS", (), ("duplicate member",)),
    Case(
        "system tree",
        _system_tree,
        "PASS",
        (),
        (
            "setuid bit recorded and stripped",
            "symlink to outside the tree recorded",
            "device file recorded",
        ),
    ),
    Case("duplicate members", _duplicates, "PASS", (), ("duplicate member",)),
    Case(
        "hostile members",
        _hostile,
        "FAIL",
        (
            "longer than 255 bytes",
            "'..' path traversal",
            "absolute path",
            "NUL byte",
            "symlink chain resolves outside",
            "hardlink points outside",
        ),
    ),
    Case("tar with a SQL dump first", _sql_first, "PASS"),
    Case("tar with an xlsx last", _xlsx_last, "PASS"),
    Case("tar.zst", _zst, "PASS", needs=("zstd",)),
    Case("truncated tar.zst", _zst_cut, "FAIL", ("zstd",), needs=("zstd",)),
]


def missing_tools(case: Case) -> list[str]:
    return [t for t in case.needs if shutil.which(t) is None]
