"""The backup sign-off pages: one page per verification, every finding named.

The signed `backup.verified` body carries counts; the full result (every finding, the tool
and snapshot, the spec applied, the tools' verdicts) is the stored JSON it names by digest.
A page is made from that JSON only when its bytes still hash to the digest the signed entry
records; otherwise the page says so, and shows what the entry itself holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from irkit.record.entry import Entry

if TYPE_CHECKING:
    from irkit.record.case import Case
    from irkit.report.render import Builder

_MAX_BYTES = 64 << 20  # a result larger than this is not put on paper
_MAX_LINES = 2000  # findings listed per page before "and N more"


def load_results(case: Case, entries: Sequence[Entry]) -> dict[int, dict[str, Any] | str]:
    """seq -> the stored result of each backup.verified entry, or why it is not usable."""
    from irkit.errors import InputError
    from irkit.formats import jsonload

    out: dict[int, dict[str, Any] | str] = {}
    for e in entries:
        if e.kind != "backup.verified":
            continue
        digest = str(e.body.get("result_sha256", ""))
        try:
            path = case.store.path_for(digest)
            with path.open("rb") as fh:
                data = fh.read(_MAX_BYTES + 1)
        except (OSError, ValueError) as exc:
            out[e.seq] = f"stored result {digest[:16]}… cannot be read ({exc})"
            continue
        if len(data) > _MAX_BYTES or hashlib.sha256(data).hexdigest() != digest:
            out[e.seq] = f"stored result {digest[:16]}… does not match its recorded digest"
            continue
        try:
            doc = jsonload.loads(data, what="backup result")
        except InputError as exc:
            out[e.seq] = f"stored result is not readable: {exc.message}"
            continue
        out[e.seq] = doc if isinstance(doc, dict) else "stored result is not a JSON object"
    return out


def _restore_kind(body: dict[str, Any], res: dict[str, Any]) -> str:
    kind = str(body.get("artifact_kind", ""))
    extra = []
    if res.get("compression"):
        extra.append(str(res["compression"]))
    if res.get("manifest_format") == "postgresql":
        extra.append("PostgreSQL backup_manifest")
    if res.get("layout"):
        extra.append(f"compared from {res['layout']}/")
    return kind + (f" ({', '.join(extra)})" if extra else "")


def _tool(res: dict[str, Any]) -> str:
    tool = res.get("tool")
    if isinstance(tool, dict):
        check = tool.get("check")
        said = (
            ""
            if not isinstance(check, dict)
            else f"; own check {' '.join(map(str, check.get('argv', [])[1:]))}: "
            + ("passed" if check.get("ok") else "FAILED")
        )
        return (
            f"{tool.get('tool')} {tool.get('version')}, repository {tool.get('repository')}{said}"
        )
    cmd = res.get("command")
    if isinstance(cmd, dict):
        argv = " ".join(map(str, cmd.get("argv", [])))
        return f"--restore-cmd {argv} (exit {cmd.get('exit_code')})"
    pg = res.get("pg_verifybackup")
    if isinstance(pg, dict) and pg.get("installed"):
        return f"{pg.get('version')}: {'passed' if pg.get('ok') else 'FAILED'}"
    return "irkit (built-in restore)"


def _snapshot(res: dict[str, Any]) -> str:
    tool = res.get("tool")
    if not isinstance(tool, dict):
        return "—"
    parts = [str(tool.get("snapshot") or "?")]
    if tool.get("name"):
        parts.append(f"({tool['name']})")
    if tool.get("paths"):
        parts.append("of " + ", ".join(map(str, tool["paths"])))
    if tool.get("time"):
        parts.append(f"taken {tool['time']}")
    return " ".join(parts)


def _spec(body: dict[str, Any], res: dict[str, Any]) -> str:
    sha = body.get("spec_sha256")
    raw = res.get("checks")
    checks: list[Any] = raw if isinstance(raw, list) else []
    kinds = sorted({str(c.get("check")) for c in checks if isinstance(c, dict)})
    ran = f"; checks run: {', '.join(kinds)}" if kinds else ""
    return (f"sha256 {sha}" if sha else "none (no --spec)") + ran


def pages(b: Builder) -> None:
    """One page per backup verification (the backup-signoff template's `backup_pages`)."""
    from reportlab.platypus import PageBreak

    m = b.m
    rows = [r for r in m.backups if r.kind != "" and r.verdict]
    if not rows:
        b.h2("Backup verification pages")
        b.para("No backup verification recorded.")
        return
    bodies, results = m.backup_bodies, m.backup_results
    for row in rows:
        b.story.append(PageBreak())
        b.h2(f"Verification #{row.seq}: {row.artifact} — {row.verdict}")
        body = bodies.get(row.seq, {})
        res = results.get(row.seq)
        usable = res if isinstance(res, dict) else {}
        signed = (
            "yes"
            if row.signed_off
            else "no (a FAIL cannot be signed off)"
            if row.verdict == "FAIL"
            else "no"
        )
        record = usable.get("manifest_record")
        manifest = f"sha256 {body.get('manifest_sha256', '?')}" + (
            f"; the manifest signed at backup time (#{record['seq']})"
            if isinstance(record, dict)
            else "; not signed at backup time in this case"
        )
        b.kv(
            [
                ("Verdict", row.verdict),
                ("Signed off", signed),
                ("Recorded", f"{row.at} by {row.by}"),
                ("Restore kind", _restore_kind(body, usable)),
                ("Tool", _tool(usable) if usable else str(body.get("tool") or "—")),
                ("Snapshot", _snapshot(usable) if usable else str(body.get("snapshot") or "—")),
                ("Artifact", f"{row.artifact}, sha256 {body.get('artifact_sha256', '?')}"),
                ("Manifest", manifest),
                ("Spec applied", _spec(body, usable)),
                (
                    "Counts",
                    ", ".join(
                        f"{body.get(k)} {k}"
                        for k in ("matched", "changed", "missing", "extra", "moved", "refused")
                    )
                    + f"; {body.get('checks_failed')} check(s) failed",
                ),
            ],
            frozenset({"Artifact", "Manifest"}),
        )
        if isinstance(res, str) or res is None:
            b.para(
                "Findings: "
                + (res or "the stored result was not available when this report was made")
                + "; the counts above are those the signed entry records."
            )
            continue
        failures = [str(f) for f in usable.get("failures", [])]
        b.h3(f"Findings ({len(failures)})", listed=False)
        shown = failures[:_MAX_LINES]
        more = len(failures) - len(shown)
        b.listing(
            shown + ([f"… and {more} more (full list: the stored result)"] if more else []),
            "None: every file matched and every check passed.",
        )
        passed = [
            f"{c.get('check')}: {c.get('message')}"
            for c in usable.get("checks", [])
            if isinstance(c, dict) and c.get("ok")
        ]
        if passed:
            b.h3(f"Checks passed ({len(passed)})", listed=False)
            b.listing(passed[:_MAX_LINES], "")
        notices = [
            f"{n.get('member')}: {n.get('note')}"
            for n in usable.get("notices", [])
            if isinstance(n, dict)
        ]
        if notices:
            b.h3(f"Recorded, not a failure ({len(notices)})", listed=False)
            b.listing(notices[:_MAX_LINES], "")
    b.story.append(PageBreak())  # what follows (signers, signatures) starts its own page
