"""The build hook that puts the pinned libsodium.js into wheels and sdists.

Everything else about the package is in pyproject.toml. A wheel or sdist of
Hotline carries the advocate console's libsodium.js (under
hotline/console/vendor/), copied from node_modules after checking every file
against hotline/console/libsodium-pin.json (hashes taken from the npm tarballs
package-lock.json pins; see hotline/console/libsodium_pin.py). So run
'npm ci' before 'pip wheel .' / 'pip install .'; without it, or if a file
differs from the pin, the build stops and says why. An editable install
('pip install -e .') copies nothing: the server then reads node_modules.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
VENDOR = Path("hotline", "console", "vendor")

_spec = importlib.util.spec_from_file_location(
    "hotline_libsodium_pin", ROOT / "hotline" / "console" / "libsodium_pin.py")
assert _spec is not None and _spec.loader is not None
pin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin)


def _vendor(dest: Path) -> None:
    try:
        source = pin.vendor_into(ROOT, dest)
    except pin.PinError as e:
        raise SystemExit(f"error: cannot build Hotline: {e}") from None
    print(f"libsodium.js: copied the pinned files from {source} to {dest}")


class BuildPyWithLibsodium(build_py):
    """build_py, then the checked libsodium.js files into the build tree (not for -e)."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            _vendor(Path(self.build_lib) / VENDOR)


class SdistWithLibsodium(sdist):
    """An sdist carries the checked files too, so a wheel built from it has them."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _vendor(Path(base_dir) / VENDOR)


setup(cmdclass={"build_py": BuildPyWithLibsodium, "sdist": SdistWithLibsodium})
