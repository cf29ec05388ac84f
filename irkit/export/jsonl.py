"""The journal as it is (JSON Lines), verified first: a copy for tools that read JSONL,
byte for byte what was signed, so every signature still checks in the copy.

A journal that does not verify is refused (unless forced): a copy handed on would carry
the damage without saying so. The bytes written are the verified prefix, checked against
the Merkle root verification computed, so an append or a rewrite between the check and
the copy cannot slip in unverified lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from irkit.audit.verify import VerifyReport, verify_case
from irkit.errors import EnvironmentFailure, ProblemsFound
from irkit.formats import merkle
from irkit.record.case import Case


@dataclass(frozen=True)
class JournalCopy:
    data: bytes
    entries: int
    report: VerifyReport


def export(case: Case, *, force: bool = False) -> JournalCopy:
    """The verified journal's lines. Not verifying: ProblemsFound (exit 1), unless `force`,
    then the complete lines as they are (the report says what is wrong)."""
    report = verify_case(case.root, content=False)
    if not report.ok and not force:
        first = report.problems[0]
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise ProblemsFound(
            f"the journal does not verify: {first}{more}; nothing exported "
            "(run `irkit verify`, or pass --force to export it as it is)"
        )
    lines = case.scan().lines[: report.entries]
    if len(lines) < report.entries or (
        report.ok and merkle.root([merkle.leaf_hash(x) for x in lines]).hex() != report.root
    ):
        raise EnvironmentFailure(
            "the journal changed while it was exported (rewritten, not appended to); "
            "nothing exported: run `irkit verify`"
        )
    return JournalCopy(b"".join(line + b"\n" for line in lines), len(lines), report)
