"""The multipart/form-data parser: oracle round trips through aiohttp's writer,
browser-shaped bodies, every strictness rule with its reason, limits, and
fuzzing (never any exception but MultipartError; linear scanning)."""

from __future__ import annotations

import asyncio
import io
import string
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import BodyPartReader, MultipartReader
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hotline.channels.multipart import (
    MAX_HEADER_BYTES,
    MAX_HEADER_LINES,
    MultipartError,
    Part,
    PartTooLarge,
    boundary_from_content_type,
    parse_multipart,
)

B = b"----WebKitFormBoundaryX3bY9dkRz1Qw7LmN"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- helpers


def parse(body: bytes, boundary: bytes = B, *, max_parts: int = 100, limit: int = 1 << 20) -> list[Part]:
    return parse_multipart(body, boundary, max_parts=max_parts, limit_for=lambda _n, _f: limit)


def build(*parts: tuple[bytes, bytes], boundary: bytes = B, close: bytes = b"--\r\n") -> bytes:
    """A body from (raw header lines, data) pairs, as browsers lay it out."""
    out = bytearray()
    for headers, data in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
    return bytes(out + b"--" + boundary + close)


def field(name: bytes = b"a", data: bytes = b"v", extra: bytes = b"") -> tuple[bytes, bytes]:
    return b'Content-Disposition: form-data; name="' + name + b'"' + extra, data


def reason(body: bytes, boundary: bytes = B, **kw: Any) -> str:
    with pytest.raises(MultipartError) as e:
        parse(body, boundary, **kw)
    return e.value.reason


def header_reason(headers: bytes, data: bytes = b"v") -> str:
    return reason(build((headers, data)))


def one(headers: bytes, data: bytes = b"v") -> Part:
    parts = parse(build((headers, data)))
    assert len(parts) == 1
    return parts[0]


def render(writer: aiohttp.MultipartWriter) -> tuple[bytes, bytes]:
    body = asyncio.run(writer.as_bytes())
    return body, boundary_from_content_type(writer.headers["Content-Type"])


Theirs = list[tuple[str | None, str | None, str | None, bytes]]


async def aiohttp_read(body: bytes, content_type: str) -> Theirs:
    """What aiohttp's own streaming reader makes of the same bytes."""
    loop = asyncio.get_running_loop()
    stream = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    stream.feed_data(body)
    stream.feed_eof()
    reader = MultipartReader({"Content-Type": content_type}, stream)
    out = []
    async for part in reader:
        assert isinstance(part, BodyPartReader)
        out.append((part.name, part.filename, part.headers.get("Content-Type"), await part.read()))
    return out


Row = tuple[str, str | None, str | None, bytes]


def as_tuples(parts: list[Part]) -> list[Row]:
    return [(p.name, p.filename, p.content_type, p.data) for p in parts]


# ---------------------------------------------------------------- strategies

# aiohttp refuses these in headers, and so do we (tab is allowed).
CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])
header_text = st.text(
    st.characters(codec="utf-8", exclude_characters=CONTROLS), max_size=24
)
names = st.one_of(
    header_text,
    st.sampled_from(["message", "csrf_token", "lang", "attachment", "é", "名前", 'a"b', "a\\b", "a b\t"]),
)
filenames = st.one_of(
    header_text,
    st.sampled_from(
        ["", "report.pdf", 'say "hi".txt', "C:\\Users\\x\\a.doc", "\\", "ünïcødé 📎.png", "a%20b"]
    ),
)
FRAGMENTS = ["\r\n", "--", "\r\n--", "\r\n\r\n", "\r", "\n", "--\r\n", "\r\n-", "-", "\r\n--\r\n"]
texts = st.lists(st.one_of(st.text(st.characters(codec="utf-8"), max_size=30), st.sampled_from(FRAGMENTS)),
                 max_size=8).map("".join)
blobs = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([f.encode() for f in FRAGMENTS])),
                 max_size=8).map(b"".join)
content_types = st.sampled_from(
    [None, "application/pdf", "image/png", "text/plain", "application/octet-stream",
     'application/x-thing; a="b; c"', "video/mp4;codecs=avc1"]
)
# RFC 2046 boundaries, as a sender may choose them.
BCHARS = string.ascii_letters + string.digits + "'()+_,-./:=?"
boundaries = st.builds(
    lambda body, last: body + last,
    st.text(st.sampled_from(BCHARS + " "), max_size=69),
    st.sampled_from(BCHARS),
)


@st.composite
def form_fields(draw: st.DrawFn) -> list[tuple[str, str, str | bytes, str | None, str | None]]:
    """(kind, name, value, filename, content type) for a FormData."""
    out: list[tuple[str, str, str | bytes, str | None, str | None]] = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(names)
        if draw(st.booleans()):
            out.append(("text", name, draw(texts), None, None))
        else:
            out.append(("file", name, draw(blobs), draw(filenames), draw(content_types)))
    return out


# ---------------------------------------------------------------- oracle: aiohttp's writer


@SETTINGS
@given(fields=form_fields(), quote_fields=st.booleans())
def test_formdata_round_trip(
    fields: list[tuple[str, str, str | bytes, str | None, str | None]], quote_fields: bool
) -> None:
    fd = aiohttp.FormData(quote_fields=quote_fields, default_to_multipart=True)
    expected: list[Row] = []
    for kind, name, value, filename, ctype in fields:
        if kind == "text":
            assert isinstance(value, str)
            fd.add_field(name, value)
            expected.append((name, None, "text/plain; charset=utf-8", value.encode()))
        else:
            assert isinstance(value, bytes) and filename is not None
            fd.add_field(name, io.BytesIO(value), filename=filename, content_type=ctype)
            # quote_fields=True percent-encodes plain filenames, which we do
            # not decode (browsers never percent-encode, so it is ambiguous).
            sent = quote(filename, "") if quote_fields else filename
            expected.append((name, sent, ctype or "application/octet-stream", value))
    writer = fd()
    assert isinstance(writer, aiohttp.MultipartWriter)
    body, boundary = render(writer)
    got = parse(body, boundary, max_parts=len(fields))
    assert as_tuples(got) == expected


@SETTINGS
@given(
    boundary=boundaries,
    fields=st.lists(st.tuples(names, st.one_of(st.none(), filenames), blobs), max_size=5),
    near=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 80), st.sampled_from(["\r\n--", "--", "\r\n-", ""])),
        max_size=4,
    ),
)
def test_chosen_boundary_round_trip_and_agrees_with_aiohttp_reader(
    boundary: str, fields: list[tuple[str, str | None, bytes]], near: list[tuple[int, int, str]]
) -> None:
    """Values full of near-boundary sequences, with a boundary of the sender's choosing."""
    values = [bytearray(v) for _, _, v in fields]
    for index, cut, prefix in near:  # splice in prefixes of the delimiter
        if values:
            values[index % len(values)] += (prefix + boundary[: cut % (len(boundary) + 1)]).encode()
    # RFC 2046: the delimiter must not occur in a part (nor the dash-boundary begin one).
    delimiter = b"\r\n--" + boundary.encode()
    assume(all(delimiter not in b"\r\n" + v for v in values))
    writer = aiohttp.MultipartWriter("form-data", boundary=boundary)
    expected: list[Row] = []
    for (name, filename, _), value in zip(fields, values, strict=True):
        payload = writer.append(bytes(value), {"Content-Type": "application/octet-stream"})
        params = {"name": name} if filename is None else {"name": name, "filename": filename}
        payload.set_content_disposition("form-data", quote_fields=False, **params)
        expected.append((name, filename, "application/octet-stream", bytes(value)))
    body, parsed_boundary = render(writer)
    assert parsed_boundary == boundary.encode()
    got = as_tuples(parse(body, parsed_boundary))
    assert got == expected
    # Differential check against aiohttp's streaming reader, leaving out its
    # own quirks: it drops a boundary's leading spaces, and it rewrites some
    # quoted names (strips leading "/" and "\\", mis-reads escapes), so names
    # are compared only when they are plain.
    if boundary == boundary.lstrip():
        theirs = asyncio.run(aiohttp_read(body, writer.headers["Content-Type"]))
        assert [(t, bytes(d)) for *_, t, d in theirs] == [(t, d) for *_, t, d in got]
        for (name, filename, *_), (their_name, their_filename, *_) in zip(got, theirs, strict=True):
            if plain(name) and (filename is None or plain(filename)):
                assert (name, filename) == (their_name, their_filename)


def plain(s: str) -> bool:
    return all(c.isalnum() or c in "._- " for c in s)


# ---------------------------------------------------------------- browser-shaped bodies


# Browsers send names and filenames raw except for " CR LF; we refuse other
# control characters, and read backslashes as escapes (tested separately).
browser_text = st.text(
    st.characters(codec="utf-8", exclude_characters=CONTROLS.replace("\r", "").replace("\n", "") + "\\"),
    max_size=12,
)


def browser_escape(s: str) -> bytes:
    """WHATWG: names and filenames are UTF-8 with " CR LF percent-encoded; nothing else."""
    return s.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A").encode()


@SETTINGS
@given(
    style=st.sampled_from(["chrome", "firefox"]),
    token=st.text(string.ascii_letters + string.digits, min_size=16, max_size=16),
    fields=st.lists(
        st.tuples(
            browser_text,
            st.one_of(st.none(), browser_text),
            st.one_of(texts.map(lambda t: t.encode()), blobs),
        ),
        max_size=5,
    ),
)
def test_browser_encoded_round_trip(
    style: str, token: str, fields: list[tuple[str, str | None, bytes]]
) -> None:
    chrome = style == "chrome"
    boundary = "----WebKitFormBoundary" + token if chrome else "----geckoformboundary" + token.lower()
    header = f"multipart/form-data; boundary={boundary}"
    bb = boundary_from_content_type(header)
    assert bb == boundary.encode()
    delimiter = b"\r\n--" + bb
    assume(all(delimiter not in b"\r\n" + data for _, _, data in fields))
    out, expected = bytearray(), list[Row]()
    for name, filename, data in fields:
        out += b"--" + bb + b'\r\nContent-Disposition: form-data; name="' + browser_escape(name) + b'"'
        if filename is None:  # a text input: no Content-Type
            out += b"\r\n\r\n"
            expected.append((browser_escape(name).decode(), None, None, data))
        else:
            out += b'; filename="' + browser_escape(filename) + b'"'
            out += b"\r\nContent-Type: application/octet-stream\r\n\r\n"
            expected.append((browser_escape(name).decode(), browser_escape(filename).decode(),
                             "application/octet-stream", data))
        out += data + b"\r\n"
    out += b"--" + bb + b"--\r\n"
    assert as_tuples(parse(bytes(out), bb)) == expected


def test_typical_chrome_form_with_empty_file_input() -> None:
    boundary = b"----WebKitFormBoundaryAbC123xYz789QrSt"
    body = (
        b"------WebKitFormBoundaryAbC123xYz789QrSt\r\n"
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        b"tok123\r\n"
        b"------WebKitFormBoundaryAbC123xYz789QrSt\r\n"
        b'Content-Disposition: form-data; name="lang"\r\n\r\n'
        b"es\r\n"
        b"------WebKitFormBoundaryAbC123xYz789QrSt\r\n"
        b'Content-Disposition: form-data; name="message"\r\n\r\n'
        b"l\xc3\xadnea 1\r\nl\xc3\xadnea 2\r\n--not a boundary\r\n\r\n"
        b"------WebKitFormBoundaryAbC123xYz789QrSt\r\n"
        b'Content-Disposition: form-data; name="attachment"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
        b"\r\n"
        b"------WebKitFormBoundaryAbC123xYz789QrSt--\r\n"
    )
    assert boundary_from_content_type(
        "multipart/form-data; boundary=----WebKitFormBoundaryAbC123xYz789QrSt") == boundary
    assert as_tuples(parse(body, boundary)) == [
        ("csrf_token", None, None, b"tok123"),
        ("lang", None, None, b"es"),
        ("message", None, None, "línea 1\r\nlínea 2\r\n--not a boundary\r\n".encode()),
        ("attachment", "", "application/octet-stream", b""),
    ]


def test_firefox_style_file_with_raw_utf8_filename() -> None:
    boundary = b"----geckoformboundary5f1e8c9a0b7d6e4f3a2b1c0d"
    body = build(
        (b'Content-Disposition: form-data; name="attachment"; filename="d\xc3\xa9claration %22x%22.pdf"'
         b"\r\nContent-Type: application/pdf", b"%PDF-1.7\x00\xff"),
        boundary=boundary,
    )
    (p,) = parse(body, boundary)
    assert (p.name, p.filename, p.content_type, p.data) == (
        "attachment", "déclaration %22x%22.pdf", "application/pdf", b"%PDF-1.7\x00\xff")


def test_browser_backslash_in_filename_is_read_as_quoted_pair() -> None:
    """Documented divergence: browsers do not escape backslashes; RFC quoted-pair applies."""
    assert one(b'Content-Disposition: form-data; name="f"; filename="a\\b\\\\c.txt"').filename == "ab\\c.txt"
    assert header_reason(b'Content-Disposition: form-data; name="f"; filename="ends\\"') == (
        "malformed Content-Disposition parameters")


# ---------------------------------------------------------------- what is accepted


def test_empty_form_is_just_the_close_delimiter() -> None:
    assert parse(b"--" + B + b"--\r\n") == []
    assert parse(b"--" + B + b"--") == []
    assert parse(b"--" + B + b"--\r\n", max_parts=0) == []


def test_epilogue_after_close_delimiter_is_ignored() -> None:
    epilogue = b"\r\nepilogue\r\n--" + B + b"\r\n" + field(b"b")[0] + b"\r\n\r\nx"
    body = build(field(b"a", b"1"), close=b"--" + epilogue)
    assert as_tuples(parse(body)) == [("a", None, None, b"1")]
    assert as_tuples(parse(build(field(), close=b"--  \t\r\n\r\n"))) == [("a", None, None, b"v")]


def test_transport_padding_after_delimiters_is_tolerated() -> None:
    body = b"--" + B + b" \t\r\n" + field()[0] + b"\r\n\r\nv\r\n--" + B + b"  \r\n" + field(b"b")[0] + (
        b"\r\n\r\nw\r\n--" + B + b"--")
    assert as_tuples(parse(body)) == [("a", None, None, b"v"), ("b", None, None, b"w")]


def test_part_with_empty_data_may_omit_the_empty_line() -> None:
    body = b"--" + B + b"\r\n" + field()[0] + b"\r\n\r\n--" + B + b"--\r\n"  # no CRLF before data
    assert as_tuples(parse(body)) == [("a", None, None, b"")]


def test_data_that_looks_like_a_delimiter_without_crlf_is_data() -> None:
    data = b"--" + B[:-1] + b"\r\n-- " + B + b"\r\n--" + B[:-1] + b"X--" + B
    assert parse(build(field(data=data)))[0].data == data


def test_header_names_and_disposition_are_case_insensitive() -> None:
    p = one(b'CONTENT-DISPOSITION: Form-Data; NAME="x"; FileName="f.txt"\r\ncontent-TYPE:  text/csv  ')
    assert (p.name, p.filename, p.content_type) == ("x", "f.txt", "text/csv")


def test_parameter_forms() -> None:
    assert one(b"Content-Disposition: form-data; name=message").name == "message"
    assert one(b'Content-Disposition:form-data;name="a\\"b\\\\c";filename=""').name == 'a"b\\c'
    assert one(b'Content-Disposition: form-data ; name = "x" ;').name == "x"
    assert one(b'Content-Disposition: form-data; foo=bar; name="x"; size=3').name == "x"
    p = one(b'Content-Disposition: form-data; name="x"')
    assert (p.filename, p.content_type) == (None, None)
    assert one(b'Content-Disposition: form-data; name=""').name == ""


def test_rfc8187_extended_parameters_are_preferred() -> None:
    p = one(b"Content-Disposition: form-data; name=\"attachment\"; filename=\"fallback.txt\"; "
            b"filename*=UTF-8''%E2%82%AC%20rates.txt")
    assert p.filename == "€ rates.txt"
    p = one(b"Content-Disposition: form-data; filename*=utf-8'en'a%2Fb; name*=utf-8''na%C3%AFve")
    assert (p.name, p.filename) == ("naïve", "a/b")


def test_utf8_names_and_unknown_headers() -> None:
    p = one('Content-Disposition: form-data; name="résumé"; filename="履歴書.pdf"\r\n'
            "X-Anything: ☃\r\nContent-Length: 1\r\nContent-Transfer-Encoding: BINARY".encode())
    assert (p.name, p.filename) == ("résumé", "履歴書.pdf")
    for cte in (b"7bit", b"8bit", b"binary"):
        assert one(field()[0] + b"\r\nContent-Transfer-Encoding: " + cte).data == b"v"


def test_part_repr_hides_data() -> None:
    p = one(field(data=b"secret tip")[0], b"secret tip")
    assert "secret" not in repr(p)


def test_boundary_from_content_type_forms() -> None:
    assert boundary_from_content_type("multipart/form-data; boundary=abc") == b"abc"
    assert boundary_from_content_type("Multipart/Form-Data;BOUNDARY=abc;charset=utf-8") == b"abc"
    assert boundary_from_content_type('multipart/form-data; boundary="a b:c?=()"') == b"a b:c?=()"
    assert boundary_from_content_type("multipart/form-data; boundary=" + "x" * 70) == b"x" * 70


# ---------------------------------------------------------------- every refusal, with its reason


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("text", "malformed Content-Type header"),
        ("text/plain", "Content-Type is not multipart/form-data"),
        ("", "malformed Content-Type header"),
        ("application/x-www-form-urlencoded", "Content-Type is not multipart/form-data"),
        ("multipart/mixed; boundary=abc", "Content-Type is not multipart/form-data"),
        ("multipart/form-data", "Content-Type has no boundary parameter"),
        ("multipart/form-data; charset=utf-8", "Content-Type has no boundary parameter"),
        ("multipart/form-data; boundary=a; boundary=b", "duplicate parameter in Content-Type header"),
        ("multipart/form-data; boundary=a; Boundary=a", "duplicate parameter in Content-Type header"),
        ("multipart/form-data; boundary=", "malformed Content-Type parameters"),
        ('multipart/form-data; boundary="abc', "malformed Content-Type parameters"),
        ("multipart/form-data; boundary=a b", "malformed Content-Type parameters"),
        ('multipart/form-data; boundary=""', "invalid multipart boundary"),
        ("multipart/form-data; boundary=" + "x" * 71, "invalid multipart boundary"),
        ('multipart/form-data; boundary="abc "', "invalid multipart boundary"),
        ("multipart/form-data; boundary=a!b", "invalid multipart boundary"),
        ('multipart/form-data; boundary="a\\"b"', "invalid multipart boundary"),
        ("multipart/form-data; boundary=caf\u00e9", "malformed Content-Type parameters"),
    ],
)
def test_boundary_from_content_type_refusals(header: str, why: str) -> None:
    with pytest.raises(MultipartError) as e:
        boundary_from_content_type(header)
    assert e.value.reason == why
    assert str(e.value) == why


@pytest.mark.parametrize("boundary", [b"", b"x" * 71, b"abc ", b"a\r\nb", b"a;b", "é".encode()])
def test_parse_refuses_invalid_boundary(boundary: bytes) -> None:
    assert reason(b"--" + boundary + b"--", boundary) == "invalid multipart boundary"


def test_body_framing_refusals() -> None:
    good = build(field())
    assert reason(b"") == "empty multipart body"
    assert reason(b"preamble\r\n" + good) == "multipart body does not begin with the boundary"
    assert reason(b"\r\n" + good) == "multipart body does not begin with the boundary"
    assert reason(good, b"other") == "multipart body does not begin with the boundary"
    assert reason(b"--" + B + b"X\r\n" + good[len(B) + 4:]) == "unexpected bytes after a boundary delimiter"
    assert reason(build(field(data=b"x\r\n--" + B + b"Z"))) == "unexpected bytes after a boundary delimiter"
    assert reason(b"--" + B + b" " * 100 + b"\r\n") == "unexpected bytes after a boundary delimiter"
    assert reason(b"--" + B + b"\n" + good[len(B) + 4:]) == "unexpected bytes after a boundary delimiter"


@pytest.mark.parametrize("cut", [len(B) + 2, len(B) + 3, len(B) + 10, 60, -1, -2, -3, -4, -8])
def test_truncated_bodies_are_refused(cut: int) -> None:
    body = build(field(data=b"some data"))
    why = reason(body[:cut] if cut > 0 else body[: cut - 2])  # minus the final "--"+CRLF and more
    assert why in {
        "missing close delimiter (truncated body)",
        "part headers are not terminated (truncated body)",
    }


def test_missing_close_delimiter() -> None:
    assert reason(build(field(), close=b"")) == "missing close delimiter (truncated body)"
    assert reason(build(field())[:-6]) == "missing close delimiter (truncated body)"
    assert reason(b"--" + B) == "missing close delimiter (truncated body)"
    assert reason(b"--" + B + b"-") == "missing close delimiter (truncated body)"
    assert reason(b"--" + B + b"\r\n" + field()[0] + b"\r\n\r\ndata") == (
        "missing close delimiter (truncated body)")
    assert reason(b"--" + B + b"\r\n" + field()[0]) == "part headers are not terminated (truncated body)"


def test_header_section_bounds() -> None:
    big = b"X-Pad: " + b"p" * MAX_HEADER_BYTES
    assert header_reason(field()[0] + b"\r\n" + big) == "part headers are too large"
    lines = b"\r\n".join([field()[0]] + [b"X-H: v"] * (MAX_HEADER_LINES - 1))
    assert one(lines).name == "a"  # exactly the maximum
    assert header_reason(lines + b"\r\nX-H: v") == "part has too many header lines"
    near_max = field()[0] + b"\r\nX-Pad: " + b"p" * (MAX_HEADER_BYTES - len(field()[0]) - 9)
    assert len(near_max) == MAX_HEADER_BYTES
    assert one(near_max).name == "a"


CD = b"Content-Disposition: form-data; "
A = CD + b'name="a"'


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (b"", "part has no Content-Disposition header"),
        (b"Content-Type: text/plain", "part has no Content-Disposition header"),
        (A + b"\r\n" + field(b"b")[0], "duplicate Content-Disposition header"),
        (A + b'\r\ncontent-disposition: form-data; name="a"', "duplicate Content-Disposition header"),
        (b'Content-Disposition: attachment; name="a"', "Content-Disposition is not form-data"),
        (b'Content-Disposition: inline; name="a"', "Content-Disposition is not form-data"),
        (b'Content-Disposition: ; name="a"', "malformed Content-Disposition header"),
        (b"Content-Disposition: ", "malformed Content-Disposition header"),
        (CD + b'name="a', "malformed Content-Disposition parameters"),
        (CD + b"name=a b", "malformed Content-Disposition parameters"),
        (CD + b"name", "malformed Content-Disposition parameters"),
        (CD + b'name="a"x', "malformed Content-Disposition parameters"),
        (CD + b"name=\xc3\xa9", "malformed Content-Disposition parameters"),
        (A + b'; name="b"', "duplicate parameter in Content-Disposition header"),
        (A + b'; NAME="a"', "duplicate parameter in Content-Disposition header"),
        (A + b'; filename=""; filename="x"', "duplicate parameter in Content-Disposition header"),
        (b"Content-Disposition: form-data", "Content-Disposition has no name parameter"),
        (CD + b'filename="x"', "Content-Disposition has no name parameter"),
        (CD + b"name*0=a; name*1=b", "RFC 2231 parameter continuations are not supported"),
        (A + b"; filename*0*=UTF-8''x", "RFC 2231 parameter continuations are not supported"),
        (A + b"; filename*=\"UTF-8''x\"", "malformed RFC 8187 extended parameter"),
        (A + b"; filename*=UTF-8''%zz", "malformed RFC 8187 extended parameter"),
        (A + b"; filename*=x.txt", "malformed RFC 8187 extended parameter"),
        (A + b"; filename*=ISO-8859-1''%E9", "extended parameter charset is not UTF-8"),
        (A + b"; filename*=UTF-8''%FF", "extended parameter is not valid UTF-8"),
        (A + b"; filename*=UTF-8''a%00b", "control character in a name or filename"),
        (CD + b"name*=UTF-8''a%0D%0Ab", "control character in a name or filename"),
        (A + b"\r\nContent-Type: multipart/mixed; boundary=x", "nested multipart parts are not supported"),
        (A + b"\r\nContent-Type: Multipart/Form-Data;b=x", "nested multipart parts are not supported"),
        (A + b"\r\nContent-Type: text/plain\r\nContent-Type: text/html", "duplicate Content-Type header"),
        (A + b"\r\nContent-Transfer-Encoding: base64", "unsupported Content-Transfer-Encoding"),
        (A + b"\r\nContent-Transfer-Encoding: quoted-printable", "unsupported Content-Transfer-Encoding"),
        (A + b"\r\nContent-Transfer-Encoding: binary\r\nContent-Transfer-Encoding: binary",
         "duplicate Content-Transfer-Encoding header"),
        (A + b"\r\nX-Bad: a\nb", "bare CR or LF in part headers"),
        (A + b"\r\nX-Bad: a\rb", "bare CR or LF in part headers"),
        (A + b"\r\nX-Bad: a\x00b", "control character in part headers"),
        (A + b'; filename="a\x1bb"', "control character in part headers"),
        (A + b"\r\nX-Bad: a\x7f", "control character in part headers"),
        (A + b'; filename="caf\xe9.txt"', "part headers are not valid UTF-8"),
        (CD + b'name="\xc0\xaf"', "part headers are not valid UTF-8"),
        (CD + b'name="\xed\xa0\x80"', "part headers are not valid UTF-8"),
        (A + b"\r\n X-Folded: yes", "folded part header line"),
        (b"\tContent-Disposition: form-data; name=\"a\"", "folded part header line"),
        (A + b"\r\nNo colon here", "part header line has no colon"),
        (b'Content-Disposition : form-data; name="a"', "invalid part header name"),
        (A + b"\r\n: empty name", "invalid part header name"),
        (A + b"\r\nX\xc3\xa9: v", "invalid part header name"),
        (A + b"\r\n--" + B + b": v", "boundary delimiter inside part headers"),
    ],
)
def test_part_header_refusals(headers: bytes, why: str) -> None:
    assert header_reason(headers) == why


def test_boundary_line_inside_part_headers_is_refused() -> None:
    # A part whose headers never end before the next part begins.
    body = b"--" + B + b"\r\n" + field()[0] + b"\r\n" + build(field(b"b"))
    assert reason(body) == "boundary delimiter inside part headers"
    assert reason(b"--" + B + b"\r\n" + build(field(b"b"))) == "boundary delimiter inside part headers"


def test_a_part_with_no_header_lines_is_refused() -> None:
    assert reason(b"--" + B + b"\r\n\r\ndata\r\n--" + B + b"--") == "part has no Content-Disposition header"


# ---------------------------------------------------------------- limits


def test_part_too_large_names_the_field() -> None:
    limits = {"message": 10, "attachment": 100}
    body = build(field(b"message", b"x" * 10), field(b"attachment", b"y" * 101, b'; filename="a.bin"'))
    calls: list[tuple[str, str | None]] = []

    def limit_for(name: str, filename: str | None) -> int:
        calls.append((name, filename))
        return limits.get(name, 4)

    with pytest.raises(PartTooLarge) as e:
        parse_multipart(body, B, max_parts=10, limit_for=limit_for)
    assert e.value.name == "attachment"
    assert e.value.limit == 100
    assert e.value.reason == "a part is larger than the limit for its field"
    assert isinstance(e.value, MultipartError) and isinstance(e.value, ValueError)
    assert calls == [("message", None), ("attachment", "a.bin")]
    # exactly at the limit is fine; one byte over is not
    at_limit = body.replace(b"y" * 101, b"y" * 100)
    assert len(parse_multipart(at_limit, B, max_parts=10, limit_for=limit_for)) == 2
    with pytest.raises(PartTooLarge) as e:
        parse_multipart(build(field(b"other", b"12345")), B, max_parts=10, limit_for=limit_for)
    assert e.value.name == "other"


def test_part_too_large_even_when_body_is_truncated_beyond_the_limit() -> None:
    body = b"--" + B + b"\r\n" + field(b"m")[0] + b"\r\n\r\n" + b"x" * 1000  # no delimiter at all
    with pytest.raises(PartTooLarge):
        parse(body, limit=10)
    assert reason(body, limit=5000) == "missing close delimiter (truncated body)"


def test_zero_and_negative_limits_allow_only_empty_parts() -> None:
    assert parse(build(field(data=b"")), limit=0)[0].data == b""
    assert parse(build(field(data=b"")), limit=-5)[0].data == b""
    with pytest.raises(PartTooLarge):
        parse(build(field(data=b"x")), limit=0)


def test_max_parts() -> None:
    body = build(*(field(str(i).encode()) for i in range(5)))
    assert len(parse(body, max_parts=5)) == 5
    assert reason(body, max_parts=4) == "too many parts"
    assert reason(body, max_parts=0) == "too many parts"


# ---------------------------------------------------------------- fuzzing


def parse_or_refuse(body: bytes, boundary: bytes = B) -> list[Part] | None:
    """Either parts or MultipartError; anything else propagates and fails the test."""
    try:
        parts = parse_multipart(
            body, boundary, max_parts=20, limit_for=lambda n, _f: 64 if n == "small" else 4096
        )
    except MultipartError as e:
        assert e.reason and isinstance(e.reason, str)
        return None
    assert all(isinstance(p, Part) and isinstance(p.data, bytes) for p in parts)
    return parts


VALID = [
    build(field(b"csrf_token", b"tok"), field(b"message", b"hello\r\n--\r\nworld"),
          (b'Content-Disposition: form-data; name="attachment"; filename=""\r\n'
           b"Content-Type: application/octet-stream", b"")),
    build((b"Content-Disposition: form-data; name*=UTF-8''%C3%A9; filename*=UTF-8''a%20b\r\n"
           b"Content-Type: image/png\r\nContent-Transfer-Encoding: binary", b"\x89PNG\r\n\x1a\n"),
          field(b"small", b"s" * 60), field(b'q\\"uote', b"")),
    b"--" + B + b"--\r\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "crlf", "delete", "dup", "insert"]))
        i = draw(st.integers(0, len(body)))
        if op == "truncate":
            del body[i:]
        elif op == "flip" and i < len(body):
            body[i] ^= draw(st.integers(1, 255))
        elif op == "crlf":
            body[i:i] = draw(st.sampled_from([b"\r\n", b"\r", b"\n", b"\r\n\r\n", b"\r\n--" + B, b"--"]))
        elif op == "delete":
            del body[i : i + draw(st.integers(1, 10))]
        elif op == "dup":
            body[i:i] = body[i : i + draw(st.integers(1, 80))]
        elif op == "insert":
            body[i:i] = draw(st.binary(max_size=12))
    return bytes(body)


@SETTINGS
@given(body=st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    parse_or_refuse(body)
    parse_or_refuse(b"--" + B + body)
    parse_or_refuse(b"--" + B + b"\r\n" + body)


@SETTINGS
@given(body=mutated())
def test_fuzz_mutated_valid_bodies(body: bytes) -> None:
    parse_or_refuse(body)


@SETTINGS
@given(header=st.text(max_size=80))
def test_fuzz_content_type_header(header: str) -> None:
    try:
        boundary = boundary_from_content_type(header)
    except MultipartError:
        return
    assert 1 <= len(boundary) <= 70
    parse_or_refuse(b"--" + boundary + b"--", boundary)


# ---------------------------------------------------------------- linear scanning


class Scanned(bytes):
    """A body that counts how many bytes the parser's searches look at."""

    scanned = 0

    def find(self, sub: Any, start: Any = None, end: Any = None) -> int:
        size = len(self)
        start = 0 if start is None else max(0, min(start, size))
        stop = size if end is None else max(0, min(end, size))
        found = super().find(sub, start, stop)
        self.scanned += (found + len(sub) - start) if found != -1 else max(0, stop - start)
        return found


def scanned(body: bytes, limit: int = 1 << 20) -> int:
    counted = Scanned(body)
    try:
        parse_multipart(counted, B, max_parts=1 << 20, limit_for=lambda _n, _f: limit)
    except MultipartError:
        pass
    return counted.scanned


@SETTINGS
@given(body=st.one_of(mutated(), st.binary(max_size=200).map(lambda b: b"--" + B + b"\r\n" + b)))
def test_searches_never_rescan(body: bytes) -> None:
    assert scanned(body) <= 2 * len(body) + 64


@pytest.mark.parametrize(
    "body",
    [
        # many near-delimiters in one part
        build(field(data=(b"\r\n--" + B[:-1]) * 5000)),
        build(field(data=b"\r\n" * 20000)),
        # many tiny parts
        build(*([field()] * 3000)),
        # a header section that never ends, then a huge part over its limit
        b"--" + B + b"\r\n" + b"X: " + b"\r\nX: y" * 5000,
        b"--" + B + b"\r\n" + field()[0] + b"\r\n\r\n" + b"\r\n-" * 100_000,
    ],
)
def test_adversarial_bodies_scan_linearly(body: bytes) -> None:
    assert scanned(body, limit=1 << 22) <= 2 * len(body) + 64
    assert scanned(body, limit=100) <= 2 * len(body) + 64
