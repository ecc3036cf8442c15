"""The libsodium.js pin: the manifest agrees with package-lock.json and with what
``npm ci`` installed; the build copies only pinned bytes and stops, saying why,
otherwise; doctor flags a served copy that is not the pinned one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.console import libsodium_pin as pin
from hotline.console.assets import SUMO, WRAPPERS
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_pins_the_locked_tarballs_and_matches_npm_ci() -> None:
    manifest = pin.load_manifest()
    assert set(manifest) == {"libsodium-sumo", "libsodium-wrappers-sumo"}
    assert pin.check_lock(ROOT / "package-lock.json", manifest) == []
    assert {WRAPPERS, SUMO} <= set(pin.pinned_files(manifest)) == set(pin.SHIPPED)
    # npm ci checked each tarball against the lock; these are the files it unpacked.
    assert pin.check_files(ROOT / "node_modules", manifest) == []


def _project(tmp_path: Path) -> Path:
    """A copy of what the build reads: the pin, the lock and node_modules' shipped files."""
    project = tmp_path / "project"
    (project / "hotline" / "console").mkdir(parents=True)
    shutil.copyfile(pin.MANIFEST, project / "hotline" / "console" / pin.MANIFEST.name)
    shutil.copyfile(ROOT / "package-lock.json", project / "package-lock.json")
    for rel in pin.SHIPPED:
        (project / "node_modules" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "node_modules" / rel, project / "node_modules" / rel)
    return project


def test_build_copies_the_pinned_files(tmp_path: Path) -> None:
    project = _project(tmp_path)
    dest = tmp_path / "build" / "vendor"
    (dest / "libsodium-sumo").mkdir(parents=True)
    (dest / "libsodium-sumo" / "old.mjs").write_bytes(b"left by an earlier build")
    assert pin.vendor_into(project, dest) == project / "node_modules"
    assert pin.check_files(dest) == []
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) \
        == sorted(pin.SHIPPED)  # only what was checked: the stale file is gone
    # An unpacked sdist has no node_modules and no lock: its vendor copy is the source.
    sdist = tmp_path / "sdist"
    (sdist / "hotline" / "console").mkdir(parents=True)
    shutil.copyfile(pin.MANIFEST, sdist / "hotline" / "console" / pin.MANIFEST.name)
    shutil.copytree(dest, sdist / "hotline" / "console" / "vendor")
    assert pin.vendor_into(sdist, tmp_path / "wheel") == sdist / "hotline" / "console" / "vendor"
    assert pin.check_files(tmp_path / "wheel") == []


def test_build_refuses_altered_or_missing_files_and_a_stale_pin(tmp_path: Path) -> None:
    project = _project(tmp_path)
    dest = tmp_path / "dest"
    shutil.copytree(project / "node_modules", dest)  # an earlier build's copy
    sumo = project / "node_modules" / SUMO
    sumo.write_bytes(sumo.read_bytes().replace(b"function", b"function ", 1))
    (project / "node_modules" / "libsodium-sumo" / "LICENSE").unlink()
    with pytest.raises(pin.PinError) as e:
        pin.vendor_into(project, dest)
    assert f"{sumo}: differs from the pinned {SUMO}" in str(e.value)
    assert "libsodium-sumo/LICENSE: missing" in str(e.value)
    assert not dest.exists()  # nothing half-copied, nothing left from before

    lock = json.loads((project / "package-lock.json").read_text())
    lock["packages"]["node_modules/libsodium-sumo"]["version"] = "0.8.5"
    (project / "package-lock.json").write_text(json.dumps(lock))
    with pytest.raises(pin.PinError, match=r"(?s)libsodium-sumo version is '0\.8\.5'.*tools/pin-libsodium"):
        pin.vendor_into(project, dest)

    shutil.rmtree(project / "node_modules")
    (project / "package-lock.json").unlink()
    with pytest.raises(pin.PinError, match="run 'npm ci'"):
        pin.vendor_into(project, dest)


def test_setup_py_stops_a_build_without_npm_ci(tmp_path: Path) -> None:
    """The real hook, on a clean export of this checkout that never ran npm ci."""
    export = tmp_path / "export"
    export.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "x", "-C", str(export)], input=archive, check=True)
    (export / "setup.py").write_bytes((ROOT / "setup.py").read_bytes())  # this tree's, committed or not
    for rel in ("hotline/console/libsodium_pin.py", "hotline/console/libsodium-pin.json"):
        shutil.copyfile(ROOT / rel, export / rel)
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py"], cwd=export,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "cannot build Hotline: the advocate console's libsodium.js is not here: run 'npm ci'" \
        in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (export / "build" / "lib" / "hotline" / "console" / "vendor").exists()


def test_doctor_says_which_copy_and_flags_an_unpinned_one(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    proc = run_cli("doctor", str(inst.root), check=False)
    assert proc.returncode == 0, proc.stdout
    assert f"note: the console serves libsodium.js from node_modules ({ROOT / 'node_modules'})" \
        in proc.stdout
    other = tmp_path / "other_node_modules"
    for rel in (WRAPPERS, SUMO):
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "node_modules" / rel, other / rel)
    (other / WRAPPERS).write_bytes((other / WRAPPERS).read_bytes() + b"\n")
    proc = run_cli("doctor", str(inst.root), "--json", check=False, HOTLINE_NODE_MODULES=str(other))
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["console_libsodium"] == {
        "origin": "HOTLINE_NODE_MODULES", "path": str(other)}
    problems = "\n".join(report["problems"])
    assert f"console: {other / WRAPPERS}: differs from the pinned {WRAPPERS}" in problems
    assert "libsodium-sumo/LICENSE: missing" in problems
