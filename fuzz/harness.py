"""What every fuzz target shares: the contract check and the atheris entry point.

A target's ``check(data)`` feeds one input to the public parser and returns
normally when the parser accepted it or raised its module's documented error.
Anything else escaping ``check`` (an ``IndexError`` from a slice, a
``UnicodeDecodeError`` or ``ValueError`` leaking from a lower layer, a
``RecursionError``, a broken property raised as ``PropertyViolation``) is a
crash: libFuzzer saves the input under ``fuzz/crashes/TARGET/``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class PropertyViolation(AssertionError):
    """A parser accepted an input but broke one of its stated properties."""


def require(condition: bool, what: str) -> None:
    """Raise ``PropertyViolation`` unless ``condition`` (``assert`` vanishes under ``-O``)."""
    if not condition:
        raise PropertyViolation(what)


def fuzz_main(check: Callable[[bytes], Any]) -> None:
    """Hand ``check`` to libFuzzer with this process's command line (the runner builds it)."""
    import atheris

    atheris.Setup(sys.argv, check)
    atheris.Fuzz()



def instrumented(module_name: str) -> Any:
    """A context in which imports of our packages get coverage instrumentation.

    Only when the target runs under atheris (``module_name == "__main__"``);
    the runner's ``--replay`` and the tests import targets plainly.
    """
    import contextlib

    if module_name != "__main__":
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["hotline", "crypto", "triage_rules"])
