"""One module per fuzz target; each defines ``check(data)`` and runs under atheris as ``__main__``."""
