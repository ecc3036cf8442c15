"""Strings the web handlers show to reporters, already in the catalogues.

Pass one of these to ``PageRenderer.gettext(lang, ...)`` and put the result in
``errors``, ``error``, ``notice`` or ``error.html``'s ``title``/``message``.
They are marked with ``N_`` so ``pybabel extract`` finds them; a string that
is not here (and so not in the ``.po`` files) would show in English.

Voice: plain words, short sentences, no blame, say what to do next.
"""

from __future__ import annotations

from typing import Final


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it."""
    return message


SITE_TITLE: Final = N_("Community Help Line")
"""The default, neutral page title (``render.DEFAULT_SITE_TITLE``)."""

# --- the report form and the "add more" form (``errors`` list) -------------
EMPTY_MESSAGE: Final = N_("Please write a message before sending.")
MESSAGE_TOO_LONG: Final = N_("Your message is too long. Please make it shorter.")
TOO_MANY_FILES: Final = N_("You added too many files. Please choose fewer files.")
FILE_TOO_LARGE: Final = N_("A file is too large. Please choose a smaller file.")
FILE_NOT_ACCEPTED: Final = N_("We could not accept one of the files. Please try another file.")
CHOOSE_FILES_AGAIN: Final = N_(
    "For your safety, we do not keep files when there is a problem. Please choose them again."
)
NOT_UTF8: Final = N_(
    "We could not read the text you sent (it is not valid UTF-8). Please type it again."
)
FORM_EXPIRED: Final = N_("This form has expired. Please go back, reload the page and try again.")
TEXT_NOT_KEPT: Final = N_(
    "For your safety, we did not keep what you typed. Please write it again."
)

# --- the follow-up page (``error``) ----------------------------------------
RECEIPT_NOT_FOUND: Final = N_("We could not find that receipt. Check the words and try again.")
TOO_MANY_TRIES: Final = N_("Too many attempts; wait a minute and try again.")

# --- notices (``notice`` on thread.html) ------------------------------------
MESSAGE_ADDED: Final = N_("Your message was added.")
ALREADY_ADDED: Final = N_(
    "This message was already sent. We did not send it twice."
)
FOLLOWUP_ENDED: Final = N_(
    "For your safety, this conversation closed after a few minutes."
    " Enter your receipt words to open it again."
)
DELETION_REQUESTED: Final = N_(
    "We received your request. This conversation is set to be deleted in {delay}. If you add "
    "a message before then, it will not be deleted. You can close this page."
)
"""``{delay}`` is the grace period in words (``hotline.twilio.texts.duration_words``)."""

# --- error.html (``title`` and ``message``) ---------------------------------
NOT_FOUND_TITLE: Final = N_("Page not found")
NOT_FOUND: Final = N_("We could not find this page.")
BAD_REQUEST_TITLE: Final = N_("Something went wrong")
BAD_REQUEST: Final = N_("We could not read what was sent. Please go back and try again.")
TOO_LARGE_TITLE: Final = N_("Too large to send")
TOO_LARGE: Final = N_("What you sent is too large. Please send a shorter message or smaller files.")
BUSY_TITLE: Final = N_("Please try again soon")
BUSY: Final = N_("The service is busy right now. Please wait a few minutes and try again.")
SERVER_ERROR_TITLE: Final = N_("Something went wrong")
SERVER_ERROR: Final = N_("Something went wrong on our side. Please try again.")

ALL: Final[tuple[str, ...]] = (
    SITE_TITLE,
    EMPTY_MESSAGE,
    MESSAGE_TOO_LONG,
    TOO_MANY_FILES,
    FILE_TOO_LARGE,
    FILE_NOT_ACCEPTED,
    CHOOSE_FILES_AGAIN,
    NOT_UTF8,
    FORM_EXPIRED,
    TEXT_NOT_KEPT,
    RECEIPT_NOT_FOUND,
    TOO_MANY_TRIES,
    MESSAGE_ADDED,
    ALREADY_ADDED,
    FOLLOWUP_ENDED,
    DELETION_REQUESTED,
    NOT_FOUND_TITLE,
    NOT_FOUND,
    BAD_REQUEST_TITLE,
    BAD_REQUEST,
    TOO_LARGE_TITLE,
    TOO_LARGE,
    BUSY_TITLE,
    BUSY,
    SERVER_ERROR_TITLE,
    SERVER_ERROR,
)
