"""Write the committed seed corpora, ``fuzz/corpus/TARGET/``, from real valid inputs.

Run from the repository root: ``.venv/bin/python -m fuzz.make_seeds``. Every
seed is something the real senders produce: bodies rendered by aiohttp's
``MultipartWriter`` and in the shape Chromium and Firefox send, forms signed
the way Twilio signs them, the envelopes, key files and ``.pub`` files of
``crypto/vectors``, the default rule pack, receipts made by ``new_receipt``.
File names are content hashes, so re-running is idempotent.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
SEEDERS: dict[str, Callable[[], Iterable[bytes]]] = {}


def seeder(name: str) -> Callable[[Callable[[], Iterable[bytes]]], Callable[[], Iterable[bytes]]]:
    def register(fn: Callable[[], Iterable[bytes]]) -> Callable[[], Iterable[bytes]]:
        SEEDERS[name] = fn
        return fn

    return register


def write(name: str, seeds: Iterable[bytes]) -> int:
    folder = FUZZ_DIR / "corpus" / name
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds:
        (folder / hashlib.sha256(seed).hexdigest()[:16]).write_bytes(seed)
        count += 1
    return count


# -- multipart ------------------------------------------------------------------

def _aiohttp_body(fields: list[tuple[str, str | None, bytes, str | None]], boundary: str) -> bytes:
    import asyncio

    import aiohttp

    writer = aiohttp.MultipartWriter("form-data", boundary=boundary)
    for name, filename, value, ctype in fields:
        payload = writer.append(value, {"Content-Type": ctype} if ctype else None)
        params = {"name": name} if filename is None else {"name": name, "filename": filename}
        payload.set_content_disposition("form-data", **params)

    class Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    asyncio.run(writer.write(sink))  # type: ignore[arg-type]
    return bytes(sink.data)


def _browser_body(boundary: bytes, parts: list[tuple[bytes, bytes]]) -> bytes:
    out = b"".join(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts)
    return out + b"--" + boundary + b"--\r\n"


@seeder("multipart")
def multipart_seeds() -> Iterable[bytes]:
    from fuzz.targets.multipart import SEED_BOUNDARY

    header = b"multipart/form-data; boundary=" + SEED_BOUNDARY + b"\n"
    text = "Me quitaron el pasaporte.\r\nNo puedo salir.\r\n--not a boundary\r\n".encode()
    yield header + _browser_body(SEED_BOUNDARY, [
        (b'Content-Disposition: form-data; name="csrf_token"', b"tok123"),
        (b'Content-Disposition: form-data; name="lang"', b"es"),
        (b'Content-Disposition: form-data; name="message"', text),
        (b'Content-Disposition: form-data; name="attachment"; filename=""\r\n'
         b"Content-Type: application/octet-stream", b""),
    ])
    yield header + _browser_body(SEED_BOUNDARY, [
        (b'Content-Disposition: form-data; name="message"', b"help"),
        (b'Content-Disposition: form-data; name="attachment"; filename="d\xc3\xa9claration %22x%22.pdf"'
         b"\r\nContent-Type: application/pdf", b"%PDF-1.7\x00\xff\r\n--"),
        (b'Content-Disposition: form-data; name="attachment"; filename="photo.jpg"\r\n'
         b"Content-Type: image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))),
    ])
    yield header + b"--" + SEED_BOUNDARY + b"--\r\n"  # a form without successful controls
    for boundary in ("----hotlinefuzz", "a b:c?=()", "x" * 70):
        body = _aiohttp_body([
            ("csrf_token", None, b"tok", None),
            ("message", None, "n\u00e9cesito ayuda \U0001f198".encode(), "text/plain; charset=utf-8"),
            ("attachment", "nota \"1\".txt", b"line\r\nline", "text/plain"),
            ("attachment", "\u043f\u0430\u0441\u043f\u043e\u0440\u0442.png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ], boundary)
        yield f'multipart/form-data; boundary="{boundary}"\n'.encode() + body


def main(names: list[str]) -> int:
    for name in names or list(SEEDERS):
        print(name, write(name, SEEDERS[name]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
