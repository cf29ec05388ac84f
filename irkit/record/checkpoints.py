"""Checkpoints issued by a case: signed over the journal, kept under checkpoints/.

The note format itself (parse, sign, verify) is irkit.formats.signednote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.signednote import Checkpoint, key_id, parse_note, sign_note, signature_line

if TYPE_CHECKING:
    from irkit.record.case import Case


@dataclass(frozen=True)
class IssuedCheckpoint:
    checkpoint: Checkpoint
    note: bytes
    path: str  # where it was kept, relative to the case folder


def sign(case: Case, signer: Signer) -> IssuedCheckpoint:
    """Sign a checkpoint over every complete entry, in memory: `keep` stores it.

    Split so that a command writing the checkpoint elsewhere too (`checkpoint -o`, an
    exhibit) can write that first and keep it in the case only once that worked."""
    from irkit.errors import NotAuthorizedError, TornTailError
    from irkit.formats import merkle
    from irkit.record import journal
    from irkit.record.roster import origin_for

    case.check_appendable()  # never sign for a tail that does not verify (BrokenChain)
    roster = case.roster()
    if not roster.is_member(signer.fingerprint):
        raise NotAuthorizedError(f"key {signer.fingerprint} is not a member of this case")
    scan = journal.read(case.journal_path)
    if scan.torn is not None:
        raise TornTailError(
            "the journal's last line is incomplete; refusing to checkpoint it",
            hint="run `irkit repair` first",
        )
    origin = origin_for(roster)
    if origin is None:
        raise InputError("the journal has no case.opened entry")
    cp = Checkpoint(origin, len(scan.lines), merkle.root([merkle.leaf_hash(x) for x in scan.lines]))
    note = sign_note(cp.body(), signer)
    name = f"{cp.size:08d}-{key_id(signer.fingerprint, signer.public.raw).hex()}.txt"
    return IssuedCheckpoint(cp, note, f"checkpoints/{name}")


def keep(case: Case, issued: IssuedCheckpoint) -> None:
    """Store a signed checkpoint under checkpoints/, atomically (a hidden temporary beside
    it, removed on any failure, so verify never meets a half-written checkpoint).

    The same checkpoint signed again (same size and signer, so the same file name) keeps the
    signature lines the kept copy has beyond the new one: a witness's cosignatures."""
    from irkit.record import safefile

    case.checkpoints_dir.mkdir(exist_ok=True)
    path = case.root / issued.path
    note = issued.note
    try:
        kept = parse_note(safefile.read_bytes(path))
        fresh = parse_note(note)
    except (OSError, InputError):
        pass  # none kept yet (or unreadable: verify reports it; the new one replaces it)
    else:
        if kept.text == fresh.text:
            have = {(s.name, s.key_id, s.signature) for s in fresh.signatures}
            note += b"".join(
                signature_line(s).encode("utf-8")
                for s in kept.signatures
                if (s.name, s.key_id, s.signature) not in have
            )
    safefile.atomic_write(path, note)


def issue(case: Case, signer: Signer, *, copy_to: Path | None = None) -> IssuedCheckpoint:
    """Sign a checkpoint over every complete entry and keep it under checkpoints/.

    With `copy_to`, that copy is written first: if it cannot be, nothing is kept; if keeping
    fails after it was written, the error says the copy exists."""
    from irkit.record import safefile

    issued = sign(case, signer)
    if copy_to is not None:
        try:
            safefile.atomic_write(copy_to, issued.note)
        except OSError as exc:
            raise InputError(
                f"cannot write {copy_to}: {exc.strerror}; no checkpoint was kept"
            ) from exc
    try:
        keep(case, issued)
    except OSError as exc:
        where = f"wrote {copy_to}, but " if copy_to is not None else ""
        raise InputError(
            f"{where}could not keep the checkpoint as {issued.path}: {exc.strerror}"
        ) from exc
    return issued
