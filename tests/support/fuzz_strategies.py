"""Hypothesis strategies for hostile HTTP requests, as an ASGI server would hand them over.

An ``Exchange`` is one generated request: its scope fields, its headers, the body chunks the
client sends, and how the client ends (finishes the body, disconnects, or stalls). Bodies come
as ``Body`` values: bytes plus the Content-Type that (claims to) describe them.

A rare choice is drawn as the top of a small range (``draw(st.integers(0, 9)) == 9``): Hypothesis
shrinks towards 0, so a failing example keeps the rare part only if the failure needs it.
"""

import dataclasses
import itertools
import json
import string
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote, unquote

from hypothesis import strategies as st

# Stands for the id of a session a previous request really issued; the test replaces it in any
# header value before sending (the id only exists at run time).
ISSUED_SESSION = b"<issued-session-id>"

Ending = Literal["complete", "disconnect", "stall"]

HANDLERS = (
    "typed",
    "positional",
    "keywords",
    "index",
    "upload",
    "upload_strict",
    "listed",
    "counter",
    "echo_json",
    "stream_sync",
    "stream_async",
    "boom",
    "broken_iterable",
)
# Names no request may reach: private or WebSocket names, attributes that are no handlers, and
# names found only on the metaclass (``mro``).
NOT_ROUTES = ("_deliberate", "_redirect", "__init__", "ws_chat", "request", "middlewares",
              "session_backend", "startup_handlers", "mro", "")
PARAMETER_NAMES = ("n", "x", "flag", "name", "document", "parts", "fields", "segments", "ids", "tags", "docs")


def _bytes_expr(data: bytes) -> str:
    """``data`` as a Python expression, each run of 16 or more equal bytes as ``b"x" * n``."""
    pieces: list[str] = []
    literal = bytearray()
    for byte, run in itertools.groupby(data):
        count = sum(1 for _ in run)
        if count < 16:
            literal.extend(bytes([byte]) * count)
            continue
        if literal:
            pieces.append(repr(bytes(literal)))
            literal.clear()
        pieces.append(f"{bytes([byte])!r} * {count}")
    if literal or not pieces:
        pieces.append(repr(bytes(literal)))
    return " + ".join(pieces)


@dataclasses.dataclass(frozen=True)
class Body:
    content_type: bytes | None
    data: bytes


@dataclasses.dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    # What the client sends: every chunk, in order. With the "complete" ending the last one
    # says more_body=False; otherwise all say more_body=True and then the client disconnects
    # ("disconnect") or stays silent until the response is over ("stall").
    chunks: tuple[bytes, ...]
    ending: Ending
    # Paced: the client yields to the event loop before each chunk, as a network would, so the
    # app runs between chunks (a handler can be reading a file when the upload fails). Not
    # paced: every chunk is there at once, the case a server with the whole body buffered gives.
    paced: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # How Hypothesis prints a failing example: still valid Python, but with long runs of one
        # byte (a megabyte of "x", 5000 "[") written as multiplications.
        headers = ", ".join(f"({name!r}, {_bytes_expr(value)})" for name, value in self.headers)
        chunks = "".join(f"\n        {_bytes_expr(chunk)}," for chunk in self.chunks)
        printer.text(
            f"Exchange(\n    method={self.method!r},\n    path={self.path!r},\n    raw_path={self.raw_path!r},"
            f"\n    query={_bytes_expr(self.query)},\n    headers=({headers}{',' if len(self.headers) == 1 else ''}),"
            f"\n    chunks=({chunks}\n    ),\n    ending={self.ending!r},\n    paced={self.paced!r},\n)"
        )

    def describe(self, limit: int = 400) -> str:
        """The request, readable, with long byte strings shortened."""
        body = self.body
        shown = body if len(body) <= limit else body[:limit] + b"...(%d bytes)" % len(body)
        return (
            f"{self.method} path={self.path!r} raw_path={self.raw_path!r} query={self.query[:limit]!r}\n"
            f"  headers={list(self.headers)!r}\n"
            f"  body={shown!r} in {len(self.chunks)} {'paced' if self.paced else 'eager'} chunk(s),"
            f" ending={self.ending}"
        )


# --- scope: method, path, query ---------------------------------------------------------------

methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    st.sampled_from(["FOO", "get", "TRACE", "CONNECT", "", "P OST"]),
    st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=8),
)
body_methods = st.sampled_from(["POST", "PUT", "PATCH", "DELETE"])

# Lone surrogates: some servers decode a path's bytes with surrogateescape, and ASGI
# apps then see them in ``path``.
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
odd_text = st.text(
    alphabet=st.one_of(st.characters(), surrogates, st.sampled_from("%/+&=;?#\x00\r\n\ufffd\u202e")),
    max_size=12,
)


def _percent_escaped(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


def _escaped(text: str) -> str:
    """``text`` percent-encoded for a query or form, lone surrogates as their UTF-8-ish bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# A path segment as a server delivers it: text, or raw bytes decoded the ways servers do
# (percent-decoded UTF-8 with replacement, latin-1, surrogateescape), or undecodable escapes.
segments = st.one_of(
    st.sampled_from(HANDLERS),
    st.sampled_from(NOT_ROUTES),
    odd_text,
    st.binary(max_size=8).map(lambda raw: unquote(_percent_escaped(raw))),
    st.binary(max_size=8).map(lambda raw: raw.decode("latin-1")),
    st.binary(max_size=8).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(["%", "%zz", "%e9", "%C3", "..", ".", "%2F", "%00"]),
)


@st.composite
def paths(draw: st.DrawFn, first: st.SearchStrategy[str] = segments) -> tuple[str, bytes]:
    """``(path, raw_path)``; raw_path is the path's bytes, percent-escaped, or random bytes."""
    parts = [draw(first), *draw(st.lists(segments, max_size=5))]
    path = draw(st.sampled_from(["/", "//", ""])) + "/".join(parts) + draw(st.sampled_from(["", "/"]))
    if draw(st.booleans()):
        raw_path = quote(path.encode("utf-8", "surrogatepass"), safe="/").encode("ascii")
    else:
        raw_path = draw(st.binary(max_size=30))
    return path, raw_path


def handler_paths(names: Sequence[str]) -> st.SearchStrategy[tuple[str, bytes]]:
    return paths(st.sampled_from(list(names)))


# --- urlencoded text (queries and form bodies) -------------------------------------------------

field_names = st.one_of(st.sampled_from(PARAMETER_NAMES), odd_text)
field_values = st.one_of(
    st.just(""),
    st.sampled_from(["1", "-5", "+5", "1_000", "0x10", "1e3", "nan", "inf", "true", "off", "9" * 5000]),
    st.sampled_from(["%", "%zz", "%e9", "%C3%A9", "+", "a+b", "%2B", "%u0041", "%%", "=="]),
    odd_text,
)


@st.composite
def field(draw: st.DrawFn) -> str:
    name = draw(field_names)
    shape = draw(st.sampled_from(["pair", "bare", "blank"]))
    if shape == "bare":
        return name
    if shape == "blank":
        return name + "="
    return f"{name}={draw(field_values)}"


@st.composite
def urlencoded(draw: st.DrawFn) -> bytes:
    """Form text: a few drawn fields, sometimes followed by very many generated ones."""
    fields = draw(st.lists(field(), max_size=8))
    # Around max_form_fields (1000), and a body big enough (over 64 KiB) to be parsed off the loop.
    many = draw(st.sampled_from([0, 0, 0, 999, 1000, 1001, 3000, 10000]))
    fields.extend(f"f{index}=v" for index in range(many))
    separator = draw(st.sampled_from(["&", "&&", ";"]))
    text = separator.join(fields)
    encoding = draw(st.sampled_from(["utf-8", "surrogatepass", "latin-1"]))
    if encoding == "latin-1":
        return text.encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass" if encoding == "surrogatepass" else "replace")


query_strings = st.one_of(st.just(b""), urlencoded(), st.binary(max_size=60))

# Text for a typed parameter: numbers and words in every spelling, valid or not.
typed_texts = st.one_of(
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(
        ["-0", "007", "1.", ".5", "1e999", "-1e-999", "TRUE", "Yes", " 1", "1 ", "\u0665", "9" * 4300, "9" * 4301]
    ),
    field_values,
)


# --- JSON bodies -------------------------------------------------------------------------------

# 2**64 is the first integer no 64-bit parser keeps; 400 digits is far past any float; 4300
# digits is the most Python converts to text by default (number_text goes one past it).
huge_integers = st.one_of(
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**400, -(10**399), 10**4299]),
    st.integers(min_value=-(10**400), max_value=10**400),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_integers,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=12,
)
# Numbers at the edges: beyond 64 bits, beyond a float's range (2**1024 and up), the smallest
# and largest floats, negative zero.
edge_numbers = st.sampled_from(
    [2**63, 2**64, -(2**63) - 1, 2**1024, -(2**1024), 10**400, 1.7976931348623157e308, 5e-324, -0.0]
)
# Values for the typed handler's parameters: numbers most of all, then every other JSON type.
typed_json_values = st.one_of(
    edge_numbers,
    huge_integers,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.one_of(json_scalars, st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers())),
)
typed_objects = st.fixed_dictionaries(
    {"n": typed_json_values}, optional={name: typed_json_values for name in ("x", "flag", "name")}
)


@st.composite
def valid_json(draw: st.DrawFn) -> bytes:
    document = draw(st.one_of(json_values, typed_objects))
    return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8")


@st.composite
def deep_json(draw: st.DrawFn) -> bytes:
    """Arrays and/or objects nested up to 5000 deep, sometimes around a huge integer."""
    # Around orjson's depth limit (255), the framework's (jsoncodec.MAX_DEPTH, 512), Python's
    # recursion limit (1000) and orjson's parsing limit (1024), and anywhere up to 5000.
    depth = draw(st.one_of(st.integers(250, 260), st.integers(505, 520), st.integers(990, 1030),
                           st.integers(1, 5000)))
    centre = draw(st.sampled_from([b"18446744073709551616", b"-18446744073709551617", b"9" * 400,
                                   b"1", b'"x"', b"{}", b""]))
    shape = draw(st.sampled_from(["arrays", "objects", "mixed"]))
    if shape == "arrays":
        opening, closing = b"[" * depth, b"]" * depth
    elif shape == "objects":
        opening, closing = b'{"n":' * depth, b"}" * depth
    else:
        opening, closing = b'[{"a":' * (depth // 2), b"}]" * (depth // 2)
    if draw(st.integers(0, 3)) == 3:
        closing = closing[: draw(st.integers(0, len(closing)))]  # truncated: invalid JSON
    return opening + centre + closing


@st.composite
def number_text(draw: st.DrawFn) -> bytes:
    """Numbers as text: 400-digit integers and fractions, exponents beyond a float's range."""
    digits = draw(st.sampled_from([1, 19, 20, 400, 4300, 4301]))
    number = draw(st.sampled_from(["-", ""])) + "9" * digits
    number += draw(st.sampled_from(["", ".5", "e400", "E-400", ".0e308"]))
    template = draw(st.sampled_from(["{}", "[{}]", '{{"n": {}}}', '{{"n": 1, "x": {}}}']))
    return template.format(number).encode("ascii")


@st.composite
def broken_json(draw: st.DrawFn) -> bytes:
    """Not one valid JSON document: empty, random bytes, or a valid one damaged."""
    kind = draw(st.sampled_from(["empty", "random", "cut", "garbage"]))
    if kind == "empty":
        return b""
    if kind == "random":
        return draw(st.binary(max_size=40))
    document = draw(valid_json())
    if kind == "cut":
        return document[: draw(st.integers(0, max(0, len(document) - 1)))]
    at = draw(st.integers(0, len(document)))
    damage = draw(st.sampled_from([b"\xff", b"\x00", b"}", b",", b"\xed\xa0\x80", b"NaN"]))
    return document[:at] + damage + document[at:]


json_documents = st.one_of(valid_json(), deep_json(), number_text(), broken_json())
json_types = st.sampled_from(
    [b"application/json", b"application/json; charset=utf-8", b"Application/JSON",
     b"application/vnd.api+json", b"application/problem+json; x=1", b"application/json;"]
)


@st.composite
def json_bodies(draw: st.DrawFn, documents: st.SearchStrategy[bytes] = json_documents) -> Body:
    return Body(draw(json_types), draw(documents))


# --- multipart bodies --------------------------------------------------------------------------

boundaries = st.text(alphabet=string.ascii_letters + string.digits + "'()+_,-./:=?", min_size=1, max_size=70)
part_contents = st.one_of(
    st.binary(max_size=60),
    # The last is one byte over max_form_field_size (1 MiB) for a text field.
    st.sampled_from([b"", b"\r\n", b"--", b"\r\n--", b"5", b"x" * 3000, b"x" * (1024 * 1024 + 1)]),
)


@st.composite
def multipart_part(draw: st.DrawFn, boundary: bytes) -> bytes:
    name = draw(st.one_of(st.sampled_from(["document", "n", "name", "x", "flag", "ids", "docs"]), st.text(max_size=6)))
    disposition = b'form-data; name="' + name.encode("utf-8", "replace") + b'"'
    if draw(st.booleans()):
        filename = draw(st.sampled_from(["a.txt", "", "..\\x", "\u00e9.bin", 'q"uote']))
        disposition += b'; filename="' + filename.encode("utf-8") + b'"'
    headers = []
    if draw(st.integers(0, 9)) < 9:  # now and then no Content-Disposition at all
        headers.append(b"Content-Disposition: " + disposition)
    if draw(st.booleans()):
        headers.append(b"Content-Type: " + draw(st.sampled_from([b"text/plain", b"application/octet-stream", b""])))
    if draw(st.integers(0, 9)) == 9:
        headers.append(draw(st.sampled_from([b"garbage", b": no name", b"X-Long: " + b"h" * 5000])))
    content = draw(part_contents)
    return b"--" + boundary + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + content + b"\r\n"


@st.composite
def multipart_bodies(draw: st.DrawFn) -> Body:
    """Well formed or not: parts, garbage between them, missing end, truncation; and a
    Content-Type whose boundary may be the body's, another, empty, quoted or missing."""
    boundary = draw(boundaries).encode("ascii")
    parts = draw(st.lists(multipart_part(boundary), max_size=5))
    if draw(st.booleans()):
        # A file for the upload handlers' ``document`` parameter, so that they start reading it.
        file_part = b'Content-Disposition: form-data; name="document"; filename="d.bin"\r\n\r\n'
        parts.insert(0, b"--" + boundary + b"\r\n" + file_part + draw(part_contents) + b"\r\n")
    if draw(st.integers(0, 4)) == 4:
        at = draw(st.integers(0, len(parts)))
        parts.insert(at, draw(st.sampled_from([b"garbage\r\n", b"\r\n", b"--\r\n", b"--" + boundary + b"\r\n"])))
    if draw(st.integers(0, 7)) == 7:
        # One part past max_form_fields (1000).
        parts.extend([b"--" + boundary + b'\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'] * 1001)
    data = draw(st.sampled_from([b"", b"preamble\r\n"])) + b"".join(parts)
    ending = draw(st.sampled_from(["end", "end", "end", "none", "cut", "epilogue"]))
    if ending in ("end", "epilogue"):
        data += b"--" + boundary + b"--\r\n"
    if ending == "epilogue":
        data += b"epilogue"
    if ending == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    media_type = draw(st.sampled_from([b"multipart/form-data", b"Multipart/Form-Data"]))
    option = draw(st.sampled_from(["plain", "plain", "quoted", "empty", "missing", "other", "unicode"]))
    if option == "plain":
        content_type = media_type + b"; boundary=" + boundary
    elif option == "quoted":
        content_type = media_type + b'; boundary="' + boundary + b'"'
    elif option == "empty":
        content_type = media_type + b"; boundary="
    elif option == "missing":
        content_type = media_type
    elif option == "other":
        content_type = media_type + b"; boundary=other" + boundary
    else:
        content_type = media_type + b"; boundary=\xc3\xa9" + boundary
    return Body(content_type, data)


# --- any body ----------------------------------------------------------------------------------

form_types = st.sampled_from(
    [None, b"application/x-www-form-urlencoded", b"text/plain", b"", b"\xff\xfe",
     b"application/x-www-form-urlencoded; charset=latin-1"]
)


@st.composite
def form_bodies(draw: st.DrawFn) -> Body:
    return Body(draw(form_types), draw(urlencoded()))


@st.composite
def random_bodies(draw: st.DrawFn) -> Body:
    return Body(draw(st.one_of(st.none(), json_types, form_types)), draw(st.binary(max_size=80)))


bodies = st.one_of(json_bodies(), multipart_bodies(), form_bodies(), random_bodies(), st.just(Body(None, b"")))


# --- headers -----------------------------------------------------------------------------------

cookie_values = st.one_of(
    st.sampled_from([
        b"session_id=" + ISSUED_SESSION,
        b"session_id=" + ISSUED_SESSION.upper(),
        b"session_id=" + ISSUED_SESSION + b"; session_id=garbage",
        b"session_id=garbage; session_id=" + ISSUED_SESSION,
        b"a=1; session_id=" + ISSUED_SESSION + b"; b",
        # A UUIDv4 no request issued: valid text, unknown to the backend.
        b"session_id=0b6b2f5e-8d8c-4a8e-9a4c-6c1b6f0e1a2b",
        b"session_id=0B6B2F5E-8D8C-4A8E-9A4C-6C1B6F0E1A2B",
        b"session_id=", b"session_id", b"=", b";;;", b"session_id=\xff\xfe", b"session_id=\xc3\xa9",
        b"session_id=+0b6b2f5e-8d8c-4a8e-9a4c-6c1b6f0e1a2", b"session_id=" + b"a" * 5000,
    ]),
    st.binary(max_size=40).map(lambda raw: b"session_id=" + raw),
)


@st.composite
def content_lengths(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """Content-Length headers for ``body``: right, wrong, absent, odd, or more than one."""
    right = str(len(body)).encode("ascii")
    odd = [b"-1", b"abc", b"", b" ", b"99999999999999999999999", b"1e3", b"+5", b"0x10", b"1_0",
           b"\xef\xbc\x95", b"\xd9\xa5", b"5, 5", b" " + right + b" "]
    kind = draw(st.sampled_from(["right", "right", "absent", "absent", "wrong", "odd", "twice"]))
    if kind == "right":
        return [right]
    if kind == "absent":
        return []
    if kind == "wrong":
        return [str(draw(st.integers(0, 2**40))).encode("ascii")]
    if kind == "odd":
        return [draw(st.sampled_from(odd))]
    return [right, draw(st.sampled_from([right, *odd]))]


@st.composite
def header_lists(
    draw: st.DrawFn, body: Body, cookies: st.SearchStrategy[int] = st.integers(0, 2)
) -> tuple[tuple[bytes, bytes], ...]:
    headers: list[tuple[bytes, bytes]] = []
    if body.content_type is not None:
        headers.append((draw(st.sampled_from([b"content-type", b"Content-Type"])), body.content_type))
        if draw(st.integers(0, 9)) == 9:  # a second Content-Type: the two are joined
            headers.append((b"content-type", draw(st.one_of(json_types, form_types.map(lambda t: t or b"")))))
    headers.extend((b"content-length", value) for value in draw(content_lengths(body.data)))
    if draw(st.integers(0, 4)) == 4:
        headers.append((b"transfer-encoding", draw(st.sampled_from([b"chunked", b"gzip, chunked", b"\xff"]))))
    for _ in range(draw(cookies)):
        headers.append((b"cookie", draw(cookie_values)))
    extra = draw(st.lists(st.tuples(st.binary(min_size=1, max_size=12), st.binary(max_size=20)), max_size=2))
    headers.extend(extra)
    return tuple(draw(st.permutations(headers)))


# --- delivery ----------------------------------------------------------------------------------

@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` split into the bodies of successive http.request messages (some may be empty)."""
    if data and len(data) <= 64 and draw(st.integers(0, 7)) == 7:
        return [data[index:index + 1] for index in range(len(data))]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    edges = [0, *cuts, len(data)]
    return [data[start:end] for start, end in zip(edges, edges[1:])]


@st.composite
def deliveries(
    draw: st.DrawFn, data: bytes, endings: st.SearchStrategy[Ending]
) -> tuple[tuple[bytes, ...], Ending, bool]:
    """The chunks the client sends, how it ends (one that leaves sends only a prefix), and
    whether it is paced."""
    chunks = draw(chunkings(data))
    ending = draw(endings)
    if ending != "complete":
        chunks = chunks[: draw(st.integers(0, len(chunks)))]
    return tuple(chunks), ending, draw(st.booleans())


finished_or_gone: st.SearchStrategy[Ending] = st.sampled_from(["complete", "complete", "complete", "disconnect"])


@st.composite
def exchanges(
    draw: st.DrawFn,
    methods: st.SearchStrategy[str] = methods,
    paths: st.SearchStrategy[tuple[str, bytes]] = paths(),
    queries: st.SearchStrategy[bytes] = query_strings,
    bodies: st.SearchStrategy[Body] = bodies,
    endings: st.SearchStrategy[Ending] = finished_or_gone,
    cookies: st.SearchStrategy[int] = st.integers(0, 2),
) -> Exchange:
    method = draw(methods)
    path, raw_path = draw(paths)
    query = draw(queries)
    body = draw(bodies)
    headers = draw(header_lists(body, cookies))
    chunks, ending, paced = draw(deliveries(body.data, endings))
    return Exchange(method, path, raw_path, query, headers, chunks, ending, paced)


@st.composite
def tidy_exchanges(
    draw: st.DrawFn,
    handlers: Sequence[str],
    bodies: st.SearchStrategy[Body] = bodies,
    queries: st.SearchStrategy[bytes] = query_strings,
    cookies: st.SearchStrategy[int] = st.integers(0, 1),
) -> Exchange:
    """What a well-behaved client sends, carrying hostile content: a body method, a handler's
    own path, a Content-Type and the right Content-Length; the whole body arrives in chunks."""
    method = draw(st.sampled_from(["POST", "PUT", "PATCH"]))
    path = "/" + draw(st.sampled_from(list(handlers)))
    body = draw(bodies)
    headers = [(b"content-length", str(len(body.data)).encode("ascii"))]
    if body.content_type is not None:
        headers.append((b"content-type", body.content_type))
    headers.extend((b"cookie", draw(cookie_values)) for _ in range(draw(cookies)))
    chunks, _, paced = draw(deliveries(body.data, st.just("complete")))
    return Exchange(method, path, path.encode("ascii"), draw(queries), tuple(headers), chunks, "complete", paced)


@st.composite
def typed_exchanges(draw: st.DrawFn) -> Exchange:
    """Requests to ``typed(n: int, x: float = 1.0, flag: bool = False, name: str | None = None)``,
    each parameter absent or sent by one source: the path (``n`` only), the query, the body."""
    body_kind = draw(st.sampled_from(["form", "json"]))
    path = "/typed"
    query: list[str] = []
    form: list[str] = []
    document: dict[str, object] = {}
    for name in ("n", "x", "flag", "name"):
        sources = ["absent", "query", "body"] + (["path"] if name == "n" else [])
        source = draw(st.sampled_from(sources))
        # n is required: mostly a plain integer, so that the other parameters get converted too.
        plain_n = name == "n" and draw(st.integers(0, 3)) < 3
        if source == "path" or source == "query" or (source == "body" and body_kind == "form"):
            text = str(draw(st.integers())) if plain_n else draw(typed_texts)
            if source == "path":
                path += "/" + text.replace("/", "")
            else:
                (query if source == "query" else form).append(f"{name}={_escaped(text)}")
        elif source == "body":
            document[name] = draw(st.integers()) if plain_n else draw(typed_json_values)
    if body_kind == "json":
        body = Body(draw(json_types), json.dumps(document).encode("ascii"))
    else:
        body = Body(b"application/x-www-form-urlencoded", "&".join(form).encode("ascii"))
    exchange = draw(tidy_exchanges(["typed"], st.just(body), st.just("&".join(query).encode("ascii"))))
    raw_path = quote(path.encode("utf-8", "surrogatepass"), safe="/").encode("ascii")
    return dataclasses.replace(exchange, path=path, raw_path=raw_path)


@st.composite
def uploads(draw: st.DrawFn) -> Exchange:
    """A file upload, delivered paced so that the handler is reading the file while the rest
    arrives, and usually damaged after the file began: cut short, never terminated, broken by
    garbage, past max_form_fields, or abandoned by the client."""
    boundary = draw(boundaries).encode("ascii")
    head = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="document"; filename="d.bin"\r\n\r\n'
    data = head + draw(part_contents)
    start_of_damage = len(data)
    damage = draw(st.sampled_from(["none", "cut", "unterminated", "garbage", "too many parts", "disconnect"]))
    rest = b"".join(draw(st.lists(multipart_part(boundary), max_size=2)))
    if damage == "garbage":
        rest += b"--" + boundary + b"\r\n" + draw(st.sampled_from([b"garbage", b"\r\n\r\n", b"--"]))
    elif damage == "too many parts":
        rest += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n') * 1001
    data += b"\r\n" + rest
    if damage != "unterminated":
        data += b"--" + boundary + b"--\r\n"
    if damage == "cut":
        data = data[: draw(st.integers(start_of_damage, len(data) - 1))]
    quoted = b'"' + boundary + b'"' if draw(st.booleans()) else boundary
    headers = [(b"content-type", b"multipart/form-data; boundary=" + quoted)]
    headers.extend((b"content-length", length) for length in draw(content_lengths(data)))
    ending: Ending = "disconnect" if damage == "disconnect" else "complete"
    # The first chunk starts the file, so the handler is reading it when the rest arrives.
    first = draw(st.integers(len(head), start_of_damage))
    rest_chunks, ending, _ = draw(deliveries(data[first:], st.just(ending)))
    chunks = (data[:first], *rest_chunks)
    method = draw(st.sampled_from(["POST", "PUT", "PATCH"]))
    path = "/" + draw(st.sampled_from(["upload", "upload_strict"]))
    return Exchange(method, path, path.encode("ascii"), b"", tuple(headers), chunks, ending, paced=True)


# --- list parameters ---------------------------------------------------------------------------

# Elements for ``ids: list[int]``: integers, and text around the int rule (signs, spaces, other
# scripts' digits, separators, blanks) that must be refused or, blank, skipped.
list_element_texts = st.one_of(
    st.integers().map(str),
    st.sampled_from(["", "-0", "007", "+5", " 1", "1 ", "1_000", "\u0665", "1.0", "x", "9" * 4300, "9" * 4301]),
    st.text(alphabet="0123456789-+ _.x", max_size=6),
)
list_json_elements = st.one_of(
    st.integers(), list_element_texts, st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)


@dataclasses.dataclass(frozen=True)
class ListRequest:
    """An exchange to ``listed(ids: list[int], …)`` and how the ids were sent."""

    exchange: Exchange
    source: str
    # What was sent for ``ids``: texts from the query or a form, JSON values from a JSON body
    # (``sent_json`` is the whole value, possibly not a list).
    sent_texts: tuple[str, ...]
    sent_json: object


@st.composite
def list_requests(draw: st.DrawFn) -> ListRequest:
    """``ids`` sent by one source: repeated in the query, a urlencoded form or a multipart
    form, or as a JSON value (usually an array) — or not at all."""
    source = draw(st.sampled_from(["query", "form", "multipart", "json", "absent"]))
    texts: tuple[str, ...] = tuple(draw(st.lists(list_element_texts, max_size=5)))
    sent_json: object = None
    query = b""
    body = Body(None, b"")
    items = "&".join(f"ids={_escaped(text)}" for text in texts)
    if source == "query":
        query = items.encode("ascii")
    elif source == "form":
        body = Body(b"application/x-www-form-urlencoded", items.encode("ascii"))
    elif source == "multipart":
        boundary = b"list-boundary"
        parts = b"".join(
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="ids"\r\n\r\n'
            + text.encode("utf-8") + b"\r\n"
            for text in texts
        )
        body = Body(b"multipart/form-data; boundary=" + boundary, parts + b"--" + boundary + b"--\r\n")
    elif source == "json":
        sent_json = draw(st.one_of(st.lists(list_json_elements, max_size=5), list_json_elements))
        body = Body(b"application/json", json.dumps({"ids": sent_json}).encode("ascii"))
    exchange = draw(tidy_exchanges(["listed"], st.just(body), st.just(query), cookies=st.just(0)))
    return ListRequest(exchange, source, texts, sent_json)
