"""The pinned libsodium.js files, checked byte for byte, and their copy into a built package.

Why a manifest (``libsodium-pin.json``, next to this file) rather than the lock alone:
``package-lock.json`` records the sha512 ``integrity`` of each npm *tarball*, and
``npm ci`` checks the tarball against it before unpacking. Once unpacked, the
tarball is gone, so the files in ``node_modules`` cannot be checked against the
lock directly. The manifest bridges the two: for each package it records the
lock's tarball ``integrity`` and the sha512 of each file we ship, taken *from that
tarball* by ``tools/pin-libsodium`` (which downloads the tarball with ``npm pack``
and refuses unless its sha512 is the lock's). So:

* the build (``setup.py``) copies a file into the wheel or sdist only if its bytes
  have the manifest's hash, and, when ``package-lock.json`` is there (a checkout),
  only if the manifest pins the same tarballs as the lock: a bumped lock with a
  stale manifest stops the build with a message saying to run the tool;
* ``tests/console/test_libsodium_pin.py`` checks the manifest against the lock and
  against ``node_modules`` installed by ``npm ci``;
* ``hotline doctor`` checks the copy being served against the same manifest.

The packaged copy mirrors ``node_modules``' layout under ``hotline/console/vendor/``
(never committed; git-ignored), so the server reads it exactly like a
``node_modules`` folder.

Standard library only: ``setup.py`` loads this file by path, before any of
Hotline's dependencies are installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import cast

MANIFEST = Path(__file__).with_name("libsodium-pin.json")
VENDOR = Path(__file__).with_name("vendor")
"""Where an installed (non-editable) package carries its copy."""

WRAPPERS = "libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs"
SUMO = "libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs"
SHIPPED = (WRAPPERS, SUMO, "libsodium-wrappers-sumo/LICENSE", "libsodium-sumo/LICENSE")
"""``package/path`` of every file served or shipped: the two ES modules and their licences."""

RE_PIN = "run tools/pin-libsodium after changing package-lock.json, and review the diff"


class PinError(Exception):
    """The libsodium.js files are missing or are not the pinned ones."""


def sha512(data: bytes) -> str:
    """The Subresource Integrity / npm ``integrity`` form: ``sha512-`` + base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, object]]:
    packages: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["packages"]
    return packages


def pinned_files(manifest: dict[str, dict[str, object]]) -> dict[str, str]:
    """``package/relative/path`` → expected sha512, for every file we ship."""
    out = {}
    for name, pkg in manifest.items():
        files = cast(dict[str, str], pkg["files"])
        out.update({f"{name}/{rel}": str(digest) for rel, digest in files.items()})
    return out


def check_lock(lock_path: Path, manifest: dict[str, dict[str, object]]) -> list[str]:
    """Every way the manifest and ``package-lock.json`` disagree (empty if they agree)."""
    lock = json.loads(lock_path.read_text(encoding="utf-8")).get("packages", {})
    problems = []
    for name, pkg in manifest.items():
        entry = lock.get(f"node_modules/{name}")
        if entry is None:
            problems.append(f"{lock_path.name}: no entry for {name}")
            continue
        for key in ("version", "integrity"):
            if entry.get(key) != pkg[key]:
                problems.append(f"{lock_path.name}: {name} {key} is {entry.get(key)!r}, "
                                f"the pin in {MANIFEST.name} is {pkg[key]!r}")
    return problems


def check_files(root: Path, manifest: dict[str, dict[str, object]] | None = None) -> list[str]:
    """Every pinned file under ``root`` (a ``node_modules`` or vendor folder) that is
    missing or whose bytes differ from the pin (empty if all match)."""
    manifest = load_manifest() if manifest is None else manifest
    problems = []
    for rel, expected in pinned_files(manifest).items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha512(path.read_bytes()) != expected:
            problems.append(f"{path}: differs from the pinned {rel} ({expected[:20]}…)")
    return problems


def vendor_into(project: Path, dest: Path) -> Path:
    """Copy the pinned files into ``dest`` after checking them; return the folder
    they came from. The source is ``project/node_modules`` (a checkout after
    ``npm ci``), else ``project/hotline/console/vendor`` (an unpacked sdist).
    Raises :class:`PinError` with every problem found; copies nothing then.
    ``dest`` is emptied first: a build folder left from an earlier build (setuptools
    reuses ``build/lib``) must not carry files this build did not check."""
    sources = [project / "node_modules", project / "hotline" / "console" / "vendor"]
    if dest.is_dir() and all(s.resolve() != dest.resolve() for s in sources):
        shutil.rmtree(dest)
    manifest = load_manifest(project / "hotline" / "console" / MANIFEST.name)
    lock = project / "package-lock.json"
    problems = check_lock(lock, manifest) if lock.is_file() else []
    if problems:
        raise PinError("libsodium.js pin and package-lock.json disagree:\n  "
                       + "\n  ".join(problems) + f"\n({RE_PIN})")
    source = next((s for s in sources if s.is_dir() and s.resolve() != dest.resolve()), None)
    if source is None:
        raise PinError("the advocate console's libsodium.js is not here: run 'npm ci' in "
                       f"{project} before building (it installs the files pinned in "
                       "package-lock.json), then build again")
    problems = check_files(source, manifest)
    if problems:
        raise PinError("libsodium.js files are missing or not the pinned ones; refusing to "
                       "package them:\n  " + "\n  ".join(problems)
                       + "\n(run 'npm ci' for a clean copy; if the lock changed, " + RE_PIN + ")")
    for rel in pinned_files(manifest):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, dest / rel)
    return source
