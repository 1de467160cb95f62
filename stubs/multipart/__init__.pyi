# Types for the part of `multipart` (PyPI; Marcel Hellkamp's multipart/form-data parser,
# which ships no type information) that a push-style streaming parser uses.
#
# Written from the package's source, 1.2 to 2.x.  Where releases differ, these types hold
# for every one of them, and what only some releases have is left out:
# - body chunks from `PushMultipartParser.parse` are `bytearray` before 2.0, `bytes` since;
# - `MultipartSegment.size` is the running byte count before 2.0; since 2.0 it raises
#   `ParserStateError` until the segment is `complete`.  Read it once `complete` is true.
# - `parse_async`, `parse_blocking` (1.3+), `MultipartSegment.bytes_received`,
#   `.disposition` and `parse_content_disposition` (2.0+) are not declared.

from collections.abc import Callable, Generator
from types import TracebackType
from typing import Self, TypeVar, overload

_T = TypeVar("_T")

__version__: str

class MultipartError(ValueError):
    # The HTTP status the package suggests for a response to this error.
    http_status: int

# Input is not valid multipart/form-data.
class ParserError(MultipartError): ...

# Unusual input rejected in strict mode.
class StrictParserError(ParserError): ...

# One of the parser's max_* limits was exceeded.
class ParserLimitReached(MultipartError): ...

# The parser was used wrongly, e.g. fed after it was closed.
class ParserStateError(MultipartError): ...

def header_quote(val: str) -> str: ...
def header_unquote(val: str, filename: bool = False) -> str: ...
def content_disposition_quote(val: str) -> str: ...
def content_disposition_unquote(val: str, filename: bool = False) -> str: ...

# Splits e.g. a Content-Type value into its lower-cased main value and its options
# (option names lower-cased, values unquoted by `unquote(value, name == "filename")`).
def parse_options_header(
    header: str,
    options: dict[str, str] | None = None,
    unquote: Callable[[str, bool], str] = ...,
) -> tuple[str, dict[str, str]]: ...

class MultipartSegment:
    # Created by the parser only (its constructor differs between releases).

    # Header (name, value) pairs in order, names in Title-Case, values stripped.
    headerlist: list[tuple[str, str]]
    # The Content-Disposition `name` option; "" when the option is missing.
    name: str
    filename: str | None
    # Lower-cased, without options.
    content_type: str | None
    charset: str | None
    # True once the parser has seen the segment's closing boundary.
    complete: bool
    @property
    def size(self) -> int: ...
    @overload
    def header(self, name: str) -> str | None: ...
    @overload
    def header(self, name: str, default: _T) -> str | _T: ...
    # Raises KeyError for a missing header.
    def __getitem__(self, name: str) -> str: ...

class PushMultipartParser:
    # Parse events, per segment: one MultipartSegment, then zero or more non-empty body
    # chunks, then None.  Each generator from `parse` must be consumed before the next
    # chunk is fed.  An empty chunk signals the end of input, like `close()`.

    boundary: bytes
    content_length: int
    header_charset: str
    max_header_size: int
    max_header_count: int
    max_segment_size: float
    max_segment_count: float
    strict: bool
    # True after close(), which an empty chunk, an error or leaving a `with` block also
    # performs.  Reaching the final boundary alone does not set it.
    closed: bool
    # The first MultipartError the parser raised, if any.
    error: MultipartError | None
    def __init__(
        self,
        boundary: str | bytes,
        content_length: int = -1,
        max_header_size: int = 4224,
        max_header_count: int = 8,
        max_segment_size: float = ...,
        max_segment_count: float = ...,
        header_charset: str = "utf8",
        strict: bool = False,
    ) -> None: ...
    def __enter__(self) -> Self: ...
    # Closes the parser; the completeness check is skipped when leaving by an exception.
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None: ...
    def parse(
        self, chunk: bytes | bytearray
    ) -> Generator[MultipartSegment | bytes | bytearray | None, None, None]: ...
    # Raises ParserError if check_complete and the final boundary was not seen.
    def close(self, check_complete: bool = True) -> None: ...
