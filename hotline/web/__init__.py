"""The reporter-facing web pages: templates, catalogues, static files.

``PageRenderer`` renders a page in a language; ``messages`` holds the strings
handlers show (already translated in the catalogues); ``PAGE_HEADERS`` are
the headers every page needs. Serve ``STATIC_DIR`` at ``STATIC_PREFIX``.
"""

from hotline.web.headers import CONTENT_SECURITY_POLICY, PAGE_HEADERS
from hotline.web.render import (
    DEFAULT_SITE_TITLE,
    RENDERER,
    STATIC_DIR,
    STATIC_PREFIX,
    PageRenderer,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_SITE_TITLE",
    "PAGE_HEADERS",
    "RENDERER",
    "STATIC_DIR",
    "STATIC_PREFIX",
    "PageRenderer",
]
