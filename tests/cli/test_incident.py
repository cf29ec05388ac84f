"""`irkit case ...` end to end: the phone-call workflow, refusals, show/log, KPIs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, verify


def _ok(result: object) -> str:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return str(result.output)  # type: ignore[attr-defined]


def work_the_incident(irkit: Runner, case: Case, key_files: KeyFiles) -> None:
    root = case.root
    a, b = key_files.alice, key_files.bob
    _ok(
        irkit(
            "case",
            "configure",
            "--preset",
            "itil3",
            "--tz",
            "Europe/Berlin",
            "--reason",
            "desk SLA",
            key=a,
            case=root,
        )
    )
    _ok(irkit("case", "set", "impact", "2", "--reason", "one team", key=a, case=root))
    _ok(irkit("case", "set", "urgency", "1", key=a, case=root))
    _ok(irkit("case", "set", "category", "network", key=a, case=root))
    _ok(irkit("case", "assign", "Bob", key=a, case=root))
    _ok(irkit("case", "status", "in-progress", "--reason", "on it", key=b, case=root))
    _ok(
        irkit(
            "case",
            "consent",
            "grant",
            "--by",
            "Ms Smith",
            "--for",
            "remote access PC-12",
            "--how",
            "phone",
            key=b,
            case=root,
        )
    )
    _ok(
        irkit(
            "case",
            "status",
            "pending",
            "--waiting-for",
            "customer",
            "--reason",
            "sends screenshots",
            key=b,
            case=root,
        )
    )
    _ok(irkit("case", "inform", "waiting for your screenshots", key=b, case=root))
    _ok(irkit("case", "status", "in-progress", key=b, case=root))
    out = _ok(
        irkit(
            "case",
            "escalate",
            "--tier",
            "2",
            "--reason",
            "needs AD admin",
            "--json",
            key=b,
            case=root,
        )
    )
    esc = json.loads(out)[0]["seq"]
    _ok(irkit("case", "ack", str(esc), "--note", "AD team has it", key=a, case=root))
    _ok(
        irkit(
            "case", "link", "known-error", "KE-12", "--workaround", "log in twice", key=b, case=root
        )
    )
    _ok(
        irkit(
            "case",
            "resolve",
            "--code",
            "CONFIG",
            "--outcome",
            "true-positive",
            "--solution",
            "fixed the GPO",
            "--impact",
            "3 users for 2 h",
            key=b,
            case=root,
        )
    )
    _ok(
        irkit(
            "case",
            "confirm",
            "--by",
            "Ms Smith",
            "--satisfaction",
            "5",
            "--comment",
            "thanks",
            key=b,
            case=root,
        )
    )
    _ok(irkit("case", "close", key=b, case=root))
    _ok(
        irkit(
            "case",
            "followup",
            "schedule",
            "--due",
            "2026-12-01T10:00:00+01:00",
            "--note",
            "check it held",
            key=b,
            case=root,
        )
    )


def test_phone_call_workflow_shows_everywhere(
    irkit: Runner, case: Case, key_files: KeyFiles
) -> None:
    work_the_incident(irkit, case, key_files)
    entries = case.read_entries().entries
    lifecycle_seqs = [e.seq for e in entries if e.kind.startswith("incident.")]
    assert len(lifecycle_seqs) == 18  # 17 commands, assign also moved new -> assigned
    log = _ok(irkit("log", case=case.root))
    show = _ok(irkit("case", "show", case=case.root))
    for seq in lifecycle_seqs:
        assert f"#{seq} " in log
        assert f"#{seq} " in show
    assert "state      closed" in show
    assert "P2 high (impact 2 × urgency 1" in show
    assert "respond" in show and "resolve" in show and "update" in show
    assert "tier 2 acknowledge" in show
    assert "Ms Smith allowed remote access PC-12" in show
    assert "Resolution [CONFIG] true-positive" in show
    assert "in_progress -> pending (waiting for customer)" in log
    view = json.loads(_ok(irkit("case", "show", "--json", case=case.root)))
    assert view["state"] == "closed" and view["closure"]["how"] == "confirmed"
    assert [c["clock"] for c in view["clocks"]] == ["respond", "resolve", "update"]
    assert view["problems"] == []
    assert verify(case.root).ok


def test_refusals_are_one_line_exit_2_and_write_nothing(
    irkit: Runner, case: Case, key_files: KeyFiles
) -> None:
    work_the_incident(irkit, case, key_files)
    before = lines(case.root)
    for args, message in [
        (
            ("case", "status", "pending", "--waiting-for", "customer"),
            "closed -> pending is not allowed",
        ),
        (("case", "status", "pending"), "pending needs --waiting-for"),
        (("case", "status", "resolved"), "use `irkit case resolve"),
        (("case", "set", "impact", "7"), "impact is a number 1..3"),
        (("case", "ack", "3"), "not an escalation"),
        (("case", "close"), "the incident is closed"),
    ]:
        result = irkit(*args, key=key_files.bob, case=case.root)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert result.output.startswith("irkit: error:")
    result = irkit("case", "reopen", "--reason", "x", key=key_files.mallory, case=case.root)
    assert result.exit_code == 2 and "not a member" in result.output
    result = irkit(
        "case", "configure", "--preset", "itil5", "--reason", "x", key=key_files.bob, case=case.root
    )
    assert result.exit_code == 2 and "may not sign incident.configured" in result.output
    assert lines(case.root) == before
    _ok(irkit("case", "reopen", "--reason", "broken again", key=key_files.bob, case=case.root))
    show = json.loads(_ok(irkit("case", "show", "--json", case=case.root)))
    assert show["state"] == "in_progress" and show["reopens"] == 1


def test_kpi_over_folders(irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path) -> None:
    work_the_incident(irkit, case, key_files)
    many = tmp_path / "desk"
    many.mkdir()
    shutil.copytree(case.root, many / "one")
    shutil.copytree(case.root, many / "two")
    data = json.loads(_ok(irkit("case", "kpi", str(many), "--json")))
    assert data["cases"] == 2 and data["resolved"] == 2 and data["reopens"] == 0
    assert data["first_contact_resolutions"] == 0  # it was escalated and pending
    text = _ok(irkit("case", "kpi", case=case.root))
    assert "1 case, 1 resolved" in text
    result = irkit("case", "kpi", str(tmp_path / "keys"))
    assert result.exit_code == 2 and "holds none" in result.output


def test_help_speaks_to_the_technician(irkit: Runner) -> None:
    out = _ok(irkit("case", "--help"))
    assert "On the phone?" in out and "waiting-for customer" in out
    assert "case" in _ok(irkit("--help"))


def test_configure_from_the_example_file(irkit: Runner, case: Case, key_files: KeyFiles) -> None:
    example = Path(__file__).parents[2] / "examples" / "settings" / "desk-berlin.toml"
    out = _ok(
        irkit(
            "case",
            "configure",
            "--file",
            str(example),
            "--reason",
            "desk SLA",
            "--json",
            key=key_files.alice,
            case=case.root,
        )
    )
    settings = json.loads(out)[0]["body"]["settings"]
    assert settings["priorities"]["2"]["resolve"] == 6 * 3600
    assert settings["tiers"]["2"]["acknowledge"] == 20 * 60
    assert settings["calendars"]["business"]["hours"]["fri"] == ["08:00-14:00"]
    assert settings["calendars"]["business"]["zone"] == "Europe/Berlin"
    assert settings["auto_close_days"] == 3
    bad = case.root.parent / "bad.toml"
    bad.write_text('[calendars.business]\nhours = { mon = ["17:00-08:00"] }\n', encoding="utf-8")
    result = irkit(
        "case",
        "configure",
        "--file",
        str(bad),
        "--reason",
        "x",
        key=key_files.alice,
        case=case.root,
    )
    assert result.exit_code == 2 and "end before they start" in result.output


def test_demo_works_the_incident_to_closure(irkit: Runner, tmp_path: Path) -> None:
    from irkit.demo.story import run_demo

    result = run_demo(tmp_path / "demo")
    assert result.report.ok
    view = json.loads(_ok(irkit("case", "show", "--json", case=result.case_dir)))
    assert view["state"] == "closed" and view["closure"]["how"] == "confirmed"
    assert view["escalations"][0]["acknowledged"] is not None
    assert view["problems"] == []
    kinds = {h["kind"] for h in view["history"]}
    assert {"incident.state", "incident.escalated", "incident.confirmed"} <= kinds
    assert "witnessed by Bob" in _ok(irkit("timeline", case=result.case_dir))


def test_confidential_flag_reaches_the_entry_and_the_redacted_report(
    irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    root, a = case.root, key_files.alice
    _ok(irkit("case", "set", "assets", "payroll-db-7", "--confidential", key=a, case=root))
    _ok(irkit("case", "set", "category", "database", key=a, case=root))
    fields = [e for e in case.read_entries().entries if e.kind == "incident.field"]
    assert fields[0].body["confidential"] is True
    assert "confidential" not in fields[1].body  # absent unless asked: old entries unchanged
    out = tmp_path / "shared.pdf"
    _ok(irkit("report", "--redact", "-o", str(out), key=a, case=root))
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "payroll-db-7" not in text and "[REDACTED] commit:" in text and "database" in text
    assert irkit("verify", case=root).exit_code == 0


def test_root_cause_and_lessons_learned_reach_the_report(
    irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    import io

    from pypdf import PdfReader

    root, a = case.root, key_files.alice
    cause = "An expired deploy token was reused from a public CI log."
    lesson = "Scan CI logs for secrets before they are published. " * 20  # long text
    _ok(irkit("case", "set", "root-cause", cause, key=a, case=root))
    _ok(irkit("case", "set", "lessons-learned", lesson.strip(), key=a, case=root))
    out = tmp_path / "r.pdf"
    _ok(irkit("report", "-o", str(out), key=a, case=root))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    flat = "".join(text.split())
    assert "".join(cause.split()) in flat
    assert "".join(lesson.split()) in flat
    assert irkit("case", "set", "root-cause", "x" * 4001, key=a, case=root).exit_code == 2
