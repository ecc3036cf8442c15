"""``hotline oncall …`` and ``hotline advocate notify`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli

from .helpers import ALICE_PHONE, set_contact


def _show(root: Path, at: str) -> dict:  # type: ignore[type-arg]
    return json.loads(run_cli("oncall", "show", str(root), "--at", at, "--json").stdout)


def test_rotation_override_show_at_and_dst(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    root = str(inst.root)
    run_cli("oncall", "rotation", root, "--advocates", "alice,bob", "--handoff", "09:00",
            "--shift", "1d", "--timezone", "America/New_York", "--start", "2026-11-01")
    # 1 Nov 2026 is the fall-back day in New York: hand-off stays at 09:00 local.
    assert _show(inst.root, "2026-11-01T08:59")["on_call"] == ["bob"]
    assert _show(inst.root, "2026-11-01T09:00")["on_call"] == ["alice"]
    assert _show(inst.root, "2026-11-02T09:00-05:00")["on_call"] == ["bob"]
    shown = _show(inst.root, "2026-11-02T10:00")
    assert shown["shift"]["end"] == "2026-11-03T14:00:00+00:00"  # 09:00 EST
    run_cli("oncall", "override", root, "--advocate", "alice", "--from", "2026-11-02T12:00",
            "--to", "2026-11-02T18:00")
    assert _show(inst.root, "2026-11-02T13:00")["on_call"] == ["alice"]
    assert _show(inst.root, "2026-11-02T13:00")["shift"]["override"] is True
    assert _show(inst.root, "2026-11-02T18:00")["on_call"] == ["bob"]
    run_cli("oncall", "override", root, "--clear")
    assert _show(inst.root, "2026-11-02T13:00")["on_call"] == ["bob"]
    text = run_cli("oncall", "show", root, "--at", "2026-11-02T13:00").stdout
    assert "On call 2026-11-02 18:00 UTC: bob" in text


def test_escalation_levels_delays_and_show(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    root = str(inst.root)
    default = json.loads(run_cli("oncall", "escalation", root, "--json").stdout)
    assert default["configured"] is False
    assert [lvl["targets"] for lvl in default["levels"]] == [["oncall"], ["admins"]]
    run_cli("oncall", "escalation", root, "--level", "oncall", "--level", "bob,alice",
            "--delay", "30s", "--repeat", "2")
    shown = json.loads(run_cli("oncall", "escalation", root, "--json").stdout)
    assert shown == {"configured": True, "repeat": 2, "levels": [
        {"targets": ["oncall"], "delay": "30s"}, {"targets": ["bob", "alice"], "delay": "30s"}]}
    now = json.loads(run_cli("oncall", "show", root, "--json").stdout)
    assert now["escalation"] == [{"people": ["alice"], "delay": "30s"},
                                 {"people": ["bob", "alice"], "delay": "30s"}]
    run_cli("oncall", "escalation", root, "--level", "oncall", "--level", "bob",
            "--delay", "1m", "--delay", "2m")
    levels = json.loads(run_cli("oncall", "escalation", root, "--json").stdout)["levels"]
    assert [lvl["delay"] for lvl in levels] == ["60s", "120s"]


def test_export_writes_icalendar(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    root = str(inst.root)
    run_cli("oncall", "rotation", root, "--advocates", "alice,bob", "--timezone", "Europe/Madrid")
    out = tmp_path / "rota.ics"
    run_cli("oncall", "export", root, "--out", str(out), "--days", "7")
    ics = out.read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.endswith(b"END:VCALENDAR\r\n")
    assert ics.count(b"BEGIN:VEVENT") >= 7 and b"SUMMARY:On call: bob" in ics
    only_bob = run_cli("oncall", "export", root, "--advocate", "bob", "--days", "7").stdout
    assert "On call: alice" not in only_bob and "On call: bob" in only_bob


def test_notify_order_and_errors(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    root = str(inst.root)
    bad = run_cli("advocate", "notify", root, "alice", "--via", "sms", check=False)
    assert bad.returncode != 0 and "alice has no phone number" in bad.stderr
    assert "Traceback" not in bad.stderr
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    run_cli("advocate", "notify", root, "alice", "--via", "call,sms,webhook=https://ntfy.example/x")
    bad = run_cli("advocate", "notify", root, "alice", "--via", "pigeon", check=False)
    assert "unknown notifier 'pigeon'" in bad.stderr
    bad = run_cli("advocate", "notify", root, "alice", "--via", "webhook", check=False)
    assert "give its URL" in bad.stderr


def test_errors_are_one_line_naming_the_problem(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    root = str(inst.root)
    cases = [
        (["oncall", "rotation", root, "--advocates", "alice,nobody"], "no active advocate named 'nobody'"),
        (["oncall", "rotation", root, "--advocates", "alice", "--timezone", "Mars/Base"], "timezone"),
        (["oncall", "rotation", root, "--advocates", "alice", "--shift", "soon"], "shift"),
        (["oncall", "override", root, "--advocate", "bob", "--from", "2026-01-01T00:00",
          "--to", "2026-01-02T00:00"], "there is no rotation"),
        (["oncall", "escalation", root, "--level", "oncall", "--level", "ghost"], "'ghost'"),
        (["oncall", "escalation", root, "--level", "a", "--level", "b", "--level", "c",
          "--delay", "1m", "--delay", "2m"], "--delay"),
        (["oncall", "show", root, "--at", "tuesday"], "--at"),
        (["oncall", "export", root], "no rotation to export"),
    ]
    for args, expected in cases:
        proc = run_cli(*args, check=False)
        assert proc.returncode != 0, args
        assert expected in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
