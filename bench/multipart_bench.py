"""CPU cost of parsing one typical reporter form post: our multipart parser
against aiohttp's own streaming reader, in the same run.

The form is what a browser sends from the report page: csrf_token, lang, a
600-character message and an empty file input. aiohttp's reader is fed from a
StreamReader already holding the whole body (as it is once the request has
arrived) and read the way web_form reads it (next() and read_chunk()), so
both numbers are parsing only, with no network.

    python bench/multipart_bench.py [--rounds 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from aiohttp import BodyPartReader, MultipartReader
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader

from hotline.channels.multipart import boundary_from_content_type, parse_multipart

BOUNDARY = "----WebKitFormBoundaryq8Zt3XmV0bKc7RpA"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MESSAGE = ("Vi a tres menores trabajando de noche en el taller de la calle 9.\r\n" * 10)[:600]
LIMITS = {"message": 80_000, "attachment": 10 * 1024 * 1024}


def typical_body() -> bytes:
    b = BOUNDARY.encode()
    return b"".join(
        [
            b"--" + b + b'\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n',
            b"kX2pQ7vR9sT4wY6zA1bC3dE5fG8hJ0mN2oP4qR6sT8u\r\n",
            b"--" + b + b'\r\nContent-Disposition: form-data; name="lang"\r\n\r\nes\r\n',
            b"--" + b + b'\r\nContent-Disposition: form-data; name="message"\r\n\r\n',
            MESSAGE.encode() + b"\r\n",
            b"--" + b + b'\r\nContent-Disposition: form-data; name="attachment"; filename=""\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n\r\n",
            b"--" + b + b"--\r\n",
        ]
    )


def limit_for(name: str, _filename: str | None) -> int:
    return LIMITS.get(name, 4096)


def ours(body: bytes) -> int:
    boundary = boundary_from_content_type(CONTENT_TYPE)
    parts = parse_multipart(body, boundary, max_parts=16, limit_for=limit_for)
    return sum(len(p.data) for p in parts)


async def theirs(body: bytes, loop: asyncio.AbstractEventLoop) -> int:
    stream = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    stream.feed_data(body)
    stream.feed_eof()
    reader = MultipartReader({"Content-Type": CONTENT_TYPE}, stream)
    total = 0
    while (part := await reader.next()) is not None:
        assert isinstance(part, BodyPartReader)
        _ = (part.name, part.filename, part.headers.get("Content-Type"))
        while chunk := await part.read_chunk(65536):
            total += len(chunk)
    return total


def best_us(run: Callable[[], None], rounds: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1e6


async def main_async(rounds: int, repeat: int) -> None:
    body = typical_body()
    loop = asyncio.get_running_loop()
    assert ours(body) == await theirs(body, loop) == len(MESSAGE.encode()) + 45

    def run_ours() -> None:
        for _ in range(rounds):
            ours(body)

    # aiohttp's reader is async; time whole batches inside the running loop.
    samples: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            await theirs(body, loop)
        samples.append(time.perf_counter() - start)
    theirs_us = min(samples) / rounds * 1e6
    ours_us = best_us(run_ours, rounds, repeat)

    print(f"typical 4-part form, {len(body)} bytes; best of {repeat} x {rounds} parses")
    print(f"  hotline.channels.multipart.parse_multipart: {ours_us:8.1f} us/parse")
    print(f"  aiohttp MultipartReader (StreamReader fed): {theirs_us:8.1f} us/parse")
    print(f"  speed-up: {theirs_us / ours_us:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    asyncio.run(main_async(args.rounds, args.repeat))


if __name__ == "__main__":
    main()
