"""Streaming multipart/form-data parsing into ``request.files`` and ``request.body_params``.

Rules:
- The parse runs as its own task, concurrently with middleware and the handler, so a handler
  can consume a file while it is still uploading. Every registered field or file wakes the
  waiters of ``wait_for``; binding waits there for a field that has not arrived yet.
- A file field becomes ``{"filename", "content_type", "content"}``; ``content`` is an
  ``UploadQueue`` that yields ``bytes`` chunks then ``None``. A part without a filename is a
  text field, appended to ``body_params``. Each file is handed to the request, which keeps
  every one (the rule is in ``request``). A ``list[UploadedFile]`` parameter is bound only when the parse has ended (a later part could
  still add a file); until then each file streams into its own queue, bounded as below.
- Putting into an ``UploadQueue`` never waits, so the parse can always reach a later field even
  while a handler ignores an earlier file; memory stays bounded because a queue keeps at most
  ``SPOOL_MEMORY`` bytes in memory and spills the rest to an anonymous temporary file, read back
  in order. Spill files are closed when the request ends.
- Limits: the whole body ``max_body_size`` (413), one text field ``max_form_field_size`` (413),
  the number of parts, text and file alike, ``max_form_fields`` (413, as soon as the part one
  past the limit begins), ``body_timeout`` between chunks (408); a body the parser rejects is
  400 "Malformed multipart body".
- A failure is kept as ``failure``, always an ``HTTPError`` or ``ClientDisconnected``, and
  raised to whoever waits on the parse; file queues not yet finished raise
  ``MultipartFileError`` to their reader, carrying the same failure as its ``cause``, so a
  handler that lets it propagate gets the answer the parse failure calls for.
- A client that disconnects mid-upload fails the parse with ``ClientDisconnected``.
- The ``multipart`` package is optional; without it a multipart request is a 500 and the log
  says what to install.
"""

import asyncio
import asyncio.queues  # mypyc needs the module that defines the base class imported
import logging
import tempfile
from collections import deque
from typing import IO, Final

from mypy_extensions import mypyc_attr

from micropie.asgi import Receive
from micropie.body import BodyLimits, ClientDisconnected, checked_chunk, receive_within
from micropie.urlencoded import field_too_large, too_many_fields
from micropie.errors import HTTPError
from micropie.request import Request, UploadedFile, first_filled

logger: Final = logging.getLogger("micropie")

SPOOL_MEMORY: Final = 1024 * 1024
DEFAULT_FILE_TYPE: Final = "application/octet-stream"


class MultipartFileError(Exception):
    """A multipart file upload was aborted or failed before the handler read all of it.

    ``cause`` is what failed the parse: the ``HTTPError`` the request is answered with (400,
    408 or 413), ``ClientDisconnected``, or None.
    """

    def __init__(self, cause: BaseException | None = None) -> None:
        super().__init__("Multipart file upload did not complete")
        self.cause = cause


class _Spilled:
    """A chunk written to the spill file: where it starts and how long it is."""

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length


class _Failed:
    """Marks the end of a queue whose upload failed."""


_FAILED: Final = _Failed()


@mypyc_attr(native_class=False)
class UploadQueue(asyncio.Queue[bytes | None]):
    """A file's content: ``bytes`` chunks, then ``None``; ``MultipartFileError`` if the upload failed.

    Puts never wait. Up to ``memory_limit`` bytes stay in memory; later chunks go to an
    anonymous temporary file until the reader catches up. The storage hooks ``_init``,
    ``_put`` and ``_get`` are the ones ``asyncio.Queue`` provides for subclasses.
    """

    def __init__(self, memory_limit: int = SPOOL_MEMORY) -> None:
        self.memory_limit = memory_limit
        self.failure: BaseException | None = None
        self.finished = False
        super().__init__()

    def _init(self, maxsize: int) -> None:
        self._queue: deque[bytes | None | _Spilled | _Failed] = deque()
        self._in_memory = 0
        self._spill: IO[bytes] | None = None
        self._spill_end = 0

    def _put(self, item: bytes | None) -> None:
        if item is None:
            self._queue.append(None if self.failure is None else _FAILED)
        elif self._spill_end or self._in_memory + len(item) > self.memory_limit:
            self._queue.append(self._write_spill(item))
        else:
            self._in_memory += len(item)
            self._queue.append(item)

    def _write_spill(self, data: bytes) -> _Spilled:
        spill = self._spill
        if spill is None:
            spill = tempfile.TemporaryFile()
            self._spill = spill
        spill.seek(self._spill_end)
        spill.write(data)
        entry = _Spilled(self._spill_end, len(data))
        self._spill_end += len(data)
        return entry

    def _get(self) -> bytes | None:
        entry = self._queue.popleft()
        if isinstance(entry, _Spilled):
            return self._read_spill(entry)
        if isinstance(entry, _Failed):
            # Keep the marker, so every later read fails too instead of waiting forever.
            self._queue.appendleft(entry)
            raise MultipartFileError(self.failure)
        if entry is not None:
            self._in_memory -= len(entry)
        return entry

    def _read_spill(self, entry: _Spilled) -> bytes:
        spill = self._spill
        if spill is None:
            raise MultipartFileError(self.failure)
        spill.seek(entry.offset)
        data = spill.read(entry.length)
        if not any(isinstance(rest, _Spilled) for rest in self._queue):
            # Everything spilled has been read: start the file over.
            self._spill_end = 0
            spill.seek(0)
            spill.truncate()
        return data

    def finish(self) -> None:
        """The file is complete: readers get ``None`` after the last chunk."""
        if not self.finished:
            self.finished = True
            self.put_nowait(None)

    def fail(self, cause: BaseException) -> None:
        """The upload failed: readers get ``MultipartFileError`` after what already arrived."""
        if not self.finished:
            self.finished = True
            self.failure = cause
            self.put_nowait(None)

    def discard(self) -> None:
        """Drop what was not read and close the spill file."""
        self._queue.clear()
        self._in_memory = 0
        self._spill_end = 0
        spill = self._spill
        if spill is not None:
            self._spill = None
            spill.close()


def is_multipart_type(content_type: str) -> bool:
    if not content_type or content_type[0] not in "mM":
        return False
    return content_type[:19].lower() == "multipart/form-data"


def _boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart Content-Type (quoted or not); 400 if there is none."""
    try:
        import multipart
    except ImportError:
        logger.error(
            "Multipart form data needs the multipart package: pip install multipart"
        )
        raise HTTPError(500) from None
    _, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if not boundary:
        raise HTTPError(400, "Missing boundary")
    try:
        return boundary.encode("latin-1")
    except UnicodeEncodeError:
        raise HTTPError(400, "Invalid boundary") from None


class MultipartParse:
    """The multipart body of one request, parsed in the background into the request."""

    def __init__(self, request: Request, boundary: bytes, limits: BodyLimits) -> None:
        self.request = request
        self.boundary = boundary
        self.limits = limits
        self.failure: HTTPError | ClientDisconnected | None = None
        self.changed = asyncio.Event()
        self.task: asyncio.Future[None] | None = None
        self.queues: list[UploadQueue] = []

    @property
    def running(self) -> bool:
        task = self.task
        return task is not None and not task.done()

    def start(self, receive: Receive) -> None:
        self.task = asyncio.ensure_future(self._run(receive))

    def _notify(self) -> None:
        self.changed.set()
        self.changed.clear()

    def raise_failure(self) -> None:
        """Raise what failed the parse (``HTTPError`` or ``ClientDisconnected``), if anything."""
        failure = self.failure
        if failure is not None:
            raise failure

    def has(self, name: str) -> bool:
        request = self.request
        return name in request.files or first_filled(request.body_params.get(name)) is not None

    async def wait_for(self, name: str | None) -> None:
        """Wait until field ``name`` arrives (None: every field) or the parse ends."""
        while self.running and (name is None or not self.has(name)):
            await self.changed.wait()
        self.raise_failure()

    async def finish(self) -> None:
        """Wait for the parse to end; raise its failure, if it failed."""
        task = self.task
        if task is not None and not task.done():
            await asyncio.wait((task,))
        self.raise_failure()

    async def cancel(self) -> None:
        """Stop the parse (if it still runs) and wait until it has stopped."""
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait((task,))

    def abandon(self) -> None:
        """Stop the parse without waiting (the request itself is being cancelled)."""
        task = self.task
        if task is not None:
            task.cancel()
        self.close()

    def close(self) -> None:
        """Release every file's unread data; the request is over."""
        for queue in self.queues:
            queue.discard()

    def _add_file(self, name: str, filename: str, content_type: str | None) -> UploadQueue:
        queue = UploadQueue()
        self.queues.append(queue)
        upload = UploadedFile(filename=filename, content_type=content_type or DEFAULT_FILE_TYPE, content=queue)
        self.request._add_upload(name, upload)
        self._notify()
        return queue

    async def _run(self, receive: Receive) -> None:
        try:
            await self._parse(receive)
        except asyncio.CancelledError as cancelled:
            self._fail(cancelled)
            raise
        except (HTTPError, ClientDisconnected) as refusal:
            self.failure = refusal
            self._fail(refusal)
        except Exception as parser_error:
            # The parser's own exceptions: the body is not multipart as it claims. (Each
            # handler names its exception differently: compiled, a name has one type.)
            logger.info("Rejected a malformed multipart body: %s", parser_error)
            failure = HTTPError(400, "Malformed multipart body")
            self.failure = failure
            self._fail(failure)
        else:
            self.request._body_parsed = True
        finally:
            self._notify()

    def _fail(self, cause: BaseException) -> None:
        for queue in self.queues:
            queue.fail(cause)

    async def _parse(self, receive: Receive) -> None:
        import multipart

        fields = self.request.body_params
        limit = self.limits.max_body_size
        field_limit = self.limits.max_form_field_size
        max_fields = self.limits.max_form_fields
        timeout = self.limits.body_timeout
        size = 0
        parts = 0
        name = ""
        text: bytearray | None = None
        queue: UploadQueue | None = None
        # A parser error (raised by parse(), or by the completeness check when the ``with`` block
        # closes the parser) fails the parse; raise_failure answers it with a 400.
        with multipart.PushMultipartParser(self.boundary) as parser:
            more = True
            while more:
                message = await receive_within(receive, timeout)
                chunk = checked_chunk(message, size, limit)
                size += len(chunk)
                more = bool(message.get("more_body", False))
                for event in parser.parse(chunk) if chunk else ():
                    if isinstance(event, multipart.MultipartSegment):
                        parts += 1
                        if max_fields is not None and parts > max_fields:
                            raise too_many_fields()
                        name = event.name
                        queue = None
                        text = None
                        if not event.filename:
                            text = bytearray()
                        elif name:
                            queue = self._add_file(name, event.filename, event.content_type)
                        else:
                            logger.debug("Discarding a file part without a field name")
                    elif event is None:
                        if queue is not None:
                            queue.finish()
                        elif text is not None and name:
                            fields.setdefault(name, []).append(text.decode("utf-8", "replace"))
                            self._notify()
                        queue = None
                        text = None
                    elif queue is not None:
                        queue.put_nowait(bytes(event))
                    elif text is not None:
                        text += event
                        if field_limit is not None and len(text) > field_limit:
                            raise field_too_large()


def start_multipart(request: Request, content_type: str, receive: Receive, limits: BodyLimits) -> MultipartParse:
    """Begin parsing the multipart body of ``request`` in the background."""
    parse = MultipartParse(request, _boundary_of(content_type), limits)
    parse.start(receive)
    return parse
