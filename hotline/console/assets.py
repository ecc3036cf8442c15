"""The console's files, read once at start: SRI hashes, gzip bodies, the HTML shell.

libsodium.js is never committed to the repository. It is installed by
``npm ci`` (pinned in package.json and package-lock.json); a built wheel or
sdist carries a copy of the files served (and their licences) under
``hotline/console/vendor/``, checked at build time against the hashes in
``libsodium-pin.json`` (see ``libsodium_pin.py`` for why and how). The server
serves, in this order: ``HOTLINE_NODE_MODULES`` if set (an operator's explicit
choice), the installed package's copy, the nearest ``node_modules`` above the
package (a checkout installed with ``pip install -e``), the working directory's.
``hotline doctor`` says which one and whether it is the pinned one.

Its ESM wrapper imports the bare name ``libsodium-sumo``;
browsers cannot resolve bare names without an inline import map (which a
strict CSP forbids), so the served copy imports ``./libsodium-sumo.mjs``
instead, and the SRI hash is computed over the bytes actually served.

Every script and stylesheet is listed in the shell with its ``integrity``:
modules as ``<link rel=modulepreload integrity=…>`` (which is how a module's
static imports get checked too), the entry point as ``<script type=module>``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .libsodium_pin import SUMO, VENDOR, WRAPPERS

STATIC = Path(__file__).parent / "static"
_BARE_IMPORT = re.compile(rb"""from\s*["']libsodium-sumo["']""")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
          ".html": "text/html", ".svg": "image/svg+xml", ".png": "image/png"}

MISSING = ("The advocate console needs libsodium.js. An installed Hotline wheel carries it; "
           "in a checkout installed with 'pip install -e', run 'npm ci' in the repository "
           "(or set HOTLINE_NODE_MODULES to a node_modules folder that has "
           "libsodium-wrappers-sumo). Nothing else is affected; the CLI client works without it.")


@dataclass(frozen=True)
class Asset:
    body: bytes = field(repr=False)
    gzipped: bytes = field(repr=False)
    content_type: str
    integrity: str


def make_asset(body: bytes, content_type: str) -> Asset:
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    return Asset(body, gzip.compress(body, 9, mtime=0), content_type, f"sha384-{digest}")


@dataclass(frozen=True)
class LibsodiumSource:
    """Where the served libsodium.js comes from: a folder shaped like ``node_modules``."""

    root: Path
    origin: str  # "HOTLINE_NODE_MODULES", "installed package" or "node_modules"

    def describe(self) -> str:
        return f"{self.origin} ({self.root})"


def find_libsodium(env: dict[str, str] | None = None) -> LibsodiumSource | None:
    """The first folder holding both served files: ``HOTLINE_NODE_MODULES``, else the
    installed package's copy, else the nearest ``node_modules`` above this package,
    else the working directory's."""
    env = dict(os.environ) if env is None else env
    candidates = []
    if env.get("HOTLINE_NODE_MODULES"):
        candidates.append(LibsodiumSource(Path(env["HOTLINE_NODE_MODULES"]), "HOTLINE_NODE_MODULES"))
    candidates.append(LibsodiumSource(VENDOR, "installed package"))
    candidates += [LibsodiumSource(p / "node_modules", "node_modules")
                   for p in Path(__file__).resolve().parents]
    candidates.append(LibsodiumSource(Path.cwd() / "node_modules", "node_modules"))
    for c in candidates:
        if (c.root / WRAPPERS).is_file() and (c.root / SUMO).is_file():
            return c
    return None


def vendor_assets(node_modules: Path) -> dict[str, Asset]:
    wrappers = (node_modules / WRAPPERS).read_bytes()
    served, count = _BARE_IMPORT.subn(b'from"./libsodium-sumo.mjs"', wrappers)
    if count != 1:
        raise RuntimeError(f"{WRAPPERS}: expected one import of libsodium-sumo, found {count}")
    return {"libsodium-wrappers.mjs": make_asset(served, "text/javascript"),
            "libsodium-sumo.mjs": make_asset((node_modules / SUMO).read_bytes(), "text/javascript")}


ICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
        b'rx="3" fill="#0b5cad"/><path d="M4 4h2v3h4V4h2v8h-2V9H6v3H4z" fill="#fff"/></svg>\n')
"""The tab icon, here rather than a file: package data ships *.js, *.css and *.html only."""


def static_assets(folder: Path = STATIC) -> dict[str, Asset]:
    out = {"icon.svg": make_asset(ICON, "image/svg+xml")}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in _TYPES and path.name != "index.html":
            out[path.relative_to(folder).as_posix()] = make_asset(path.read_bytes(), _TYPES[path.suffix])
    return out


@dataclass(frozen=True)
class ConsoleAssets:
    static: dict[str, Asset]
    vendor: dict[str, Asset]
    shell: Asset

    @classmethod
    def load(cls, node_modules: Path) -> ConsoleAssets:
        static, vendor = static_assets(), vendor_assets(node_modules)
        return cls(static, vendor, make_asset(render_shell(static, vendor), "text/html"))


ENTRY = "js/app.js"


def render_shell(static: dict[str, Asset], vendor: dict[str, Asset]) -> bytes:
    """index.html with every script and stylesheet pinned by its SRI hash."""
    links = []
    for name, a in static.items():
        if name.endswith(".css"):
            links.append(f'<link rel="stylesheet" href="/console/static/{name}" '
                         f'integrity="{a.integrity}">')
    modules = [(f"/console/vendor/{n}", a) for n, a in vendor.items()]
    modules += [(f"/console/static/{n}", a) for n, a in static.items() if n.endswith(".js")]
    for url, a in modules:
        links.append(f'<link rel="modulepreload" href="{url}" integrity="{a.integrity}">')
    entry = static[ENTRY]
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    head = "\n".join(links) + (f'\n<script type="module" src="/console/static/{ENTRY}" '
                               f'integrity="{entry.integrity}"></script>')
    return template.replace("<!--ASSETS-->", head).encode()


def missing_page() -> bytes:
    return (f"<!doctype html><meta charset=utf-8><title>Hotline console</title>"
            f"<p>{html.escape(MISSING)}</p>").encode()
