"""The admin side of the CLI, as an operator's script would use it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers.process import HOTLINE, cli_env, run_cli


def _keygen(tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.key"
    run_cli("keygen", "--out", str(out), "--name", name, "--kdf", "testing")
    return out


def test_init_register_oncall_remove(tmp_path: Path) -> None:
    rec = _keygen(tmp_path, "recovery")
    alice = _keygen(tmp_path, "alice")
    assert (tmp_path / "alice.key.pub").read_text().startswith("hotline-public-key-v1")
    assert oct((alice.stat().st_mode) & 0o777) == "0o600"
    root = tmp_path / "inst"
    out = run_cli("init", str(root), "--recovery-pubkey", f"{rec}.pub").stdout
    assert "Recovery key fingerprint" in out
    assert (root / "hotline.toml").exists() and (root / "secrets" / "server-secret.json").exists()
    assert oct((root / "secrets").stat().st_mode & 0o777) == "0o700"

    out = run_cli("advocate", "add", str(root), "--name", "alice", "--pubkey", f"{alice}.pub",
                  "--role", "admin", "--phone", "+15550001111").stdout
    assert "fingerprint" in out
    run_cli("oncall", "set", str(root), "alice")
    listed = json.loads(run_cli("advocate", "list", str(root), "--json").stdout)
    assert [(a["name"], a["role"], a["on_call"]) for a in listed] == [("alice", "admin", True)]
    assert json.loads(run_cli("oncall", "show", str(root), "--json").stdout)["on_call"] == ["alice"]

    run_cli("advocate", "remove", str(root), "alice")
    assert json.loads(run_cli("advocate", "list", str(root), "--json").stdout) == []
    assert json.loads(run_cli("oncall", "show", str(root), "--json").stdout)["on_call"] == []


def test_user_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    rec = _keygen(tmp_path, "recovery")
    root = tmp_path / "inst"
    run_cli("init", str(root), "--recovery-pubkey", f"{rec}.pub")
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("hello")
    cases = [
        (["init", str(root), "--recovery-pubkey", f"{rec}.pub"], "already an instance"),
        (["init", str(tmp_path / "x")], "--recovery-pubkey"),
        (["advocate", "add", str(root), "--name", "x", "--pubkey", str(garbage)], str(garbage)),
        (["advocate", "add", str(root), "--name", "x", "--pubkey", str(tmp_path / "nope.pub")],
         "cannot read"),
        (["advocate", "add", str(root), "--name", "r", "--pubkey", f"{rec}.pub",
          "--fingerprint", "AAAA-BBBB"], "does not match"),
        (["oncall", "set", str(root), "nobody"], "no active advocate named 'nobody'"),
        (["advocate", "remove", str(root), "nobody"], "no active advocate"),
        (["oncall", "show", str(tmp_path / "missing")], "not an instance"),
        (["keygen", "--out", str(rec), "--kdf", "testing"], "refusing to overwrite"),
    ]
    for args, message in cases:
        proc = run_cli(*args, check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_broken_rule_file_stops_the_service_with_file_and_line(tmp_path: Path) -> None:
    rec = _keygen(tmp_path, "recovery")
    root = tmp_path / "inst"
    run_cli("init", str(root), "--recovery-pubkey", f"{rec}.pub")
    (root / "rules" / "zz-local.toml").write_text(
        '[[rule]]\nid = "local.bad"\npatterns = ["(a)\\\\1"]\nurgency = "high"\n'
        '[rule.examples]\nmatch = ["aa"]\n')
    proc = subprocess.run([*HOTLINE, "serve", str(root), "--port", "0"], capture_output=True,
                          text=True, env=cli_env(), timeout=60)
    assert proc.returncode != 0
    assert "zz-local.toml:" in proc.stderr and "local.bad" in proc.stderr
    assert "Traceback" not in proc.stderr
    check = run_cli("rules", "check", "--dir", str(root), check=False)
    assert check.returncode == 1 and "zz-local.toml:" in check.stderr
    assert "OK:" in run_cli("rules", "check", str(root / "rules" / "en.toml")).stdout


def test_demo_sets_up_a_readable_instance(tmp_path: Path) -> None:
    out = run_cli("demo", str(tmp_path / "demo"), "--no-serve", "--port", "8099").stdout
    assert "http://127.0.0.1:8099/" in out
    listed = json.loads(run_cli("advocate", "list", str(tmp_path / "demo"), "--json").stdout)
    assert listed[0]["name"] == "demo" and listed[0]["on_call"]


def test_recovery_drill(tmp_path: Path) -> None:
    rec = _keygen(tmp_path, "recovery")
    other = _keygen(tmp_path, "other")
    root = tmp_path / "inst"
    run_cli("init", str(root), "--recovery-pubkey", f"{rec}.pub")
    assert "passed" in run_cli("recovery-drill", str(root), "--key", str(rec)).stdout
    bad = run_cli("recovery-drill", str(root), "--key", str(other), check=False)
    assert bad.returncode != 0 and "not the instance's recovery key" in bad.stderr


def test_rules_explain(tmp_path: Path) -> None:
    out = json.loads(run_cli("rules", "explain", "me van a matar", "--json").stdout)
    assert out["urgency"] == "critical" and out["ruleset_version"].startswith("rs-")
    assert any(r.startswith("danger.") for r in out["fired"])
    spans = [s for r in out["rules"] for s in r["spans"]]
    assert [0, 14, "me van a matar"] in spans
    text = run_cli("rules", "explain", "-", input="nothing to see here").stdout
    assert "no rule fired" in text
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'x'\n")
    proc = run_cli("rules", "explain", "hi", str(bad), check=False)
    assert proc.returncode == 1 and "bad.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_rules_diff_over_the_shipped_corpus(tmp_path: Path) -> None:
    import shutil

    from triage_rules import default_pack_dir
    old, new = tmp_path / "old", tmp_path / "new"
    for d in (old, new):
        d.mkdir()
        for f in default_pack_dir().glob("*.toml"):
            shutil.copy(f, d)
    (new / "es.toml").unlink()  # a careless change: drop every Spanish rule
    corpus = Path(__file__).parent / "data" / "triage_corpus.jsonl"
    out = json.loads(run_cli("rules", "diff", str(old), str(new), "--corpus", str(corpus),
                             "--json").stdout)
    assert out["changed"] > 0 and out["old_version"] != out["new_version"]
    assert all("text" not in c for c in out["changes"])  # no corpus text unless asked
    text = run_cli("rules", "diff", str(old), str(new), "--corpus", str(corpus)).stdout
    assert "decisions change" in text and "| critical |" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "urgency": "high"}\nnot json\n')
    proc = run_cli("rules", "diff", str(old), str(new), "--corpus", str(bad), check=False)
    assert proc.returncode == 1 and "bad.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr
