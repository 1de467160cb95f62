"""Multipart: streamed parsing concurrent with the handler, limits, failures, memory."""

import asyncio
import os
from typing import Any

import pytest
from harness import BOUNDARY, CONTENT_TYPE, Client, PassThrough, call, end, form, http_scope, part, read_all
from harness import run_python

from micropie import App, MultipartFileError, Request
from micropie.middleware import ResponseOverride
from micropie.request import UploadedFile

class Uploads(App):
    async def upload(self, title: str, document: UploadedFile) -> dict[str, Any]:
        content = await read_all(document)
        return {"title": title, "filename": document["filename"],
                "content_type": document["content_type"], "size": len(content),
                "content": content.decode("latin-1")}

    async def fields(self, **everything: Any) -> dict[str, Any]:
        return {name: value if isinstance(value, str) else value["filename"]
                for name, value in everything.items()}

    async def form_only(self) -> dict[str, list[str]]:
        return self.request.body_params

    async def ignore(self, title: str = "none") -> str:
        return f"ignored the files, title={title}"

    async def later(self, document: UploadedFile, note: str) -> dict[str, str]:
        return {"note": note, "filename": document["filename"]}


async def test_text_fields_and_a_file_bind_to_parameters() -> None:
    body = form(part("title", b"Report"), part("document", b"%PDF-1.4 data", "r.pdf", "application/pdf"))
    reply = await call(Uploads(), "POST", "/upload", body=body, content_type=CONTENT_TYPE)
    assert reply.json() == {"title": "Report", "filename": "r.pdf", "content_type": "application/pdf",
                            "size": 13, "content": "%PDF-1.4 data"}


async def test_file_content_type_defaults_to_octet_stream() -> None:
    body = form(part("title", b"t"), part("document", b"raw", "x.bin"))
    reply = await call(Uploads(), "POST", "/upload", body=body, content_type=CONTENT_TYPE)
    assert reply.json()["content_type"] == "application/octet-stream"


async def test_quoted_boundary_is_accepted() -> None:
    body = form(part("a", b"1"), part("a", b"2"), part("b", "\u00e9".encode()))
    reply = await call(Uploads(), "POST", "/form_only", body=body,
                       content_type=f'multipart/form-data; boundary="{BOUNDARY}"')
    assert reply.json() == {"a": ["1", "2"], "b": ["\u00e9"]}


async def test_var_keyword_receives_every_field_after_the_parse() -> None:
    body = form(part("x", b"1"), part("f", b"data", "f.txt"), part("y", b"2"))
    reply = await call(Uploads(), "POST", "/fields", body=body, content_type=CONTENT_TYPE)
    assert reply.json() == {"x": "1", "y": "2", "f": "f.txt"}


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=",
                                          'multipart/form-data; boundary=""', "multipart/form-data; charset=x"])
async def test_missing_boundary_is_400(content_type: str) -> None:
    reply = await call(Uploads(), "POST", "/form_only", body=b"x", content_type=content_type)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Missing boundary")


@pytest.mark.parametrize("body", [
    b"this is not multipart at all",
    f"--{BOUNDARY}\r\nno-colon-header\r\n\r\nvalue\r\n--{BOUNDARY}--\r\n".encode(),
    part("a", b"1"),  # never closed
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\n".encode(),
])
async def test_malformed_multipart_is_400(body: bytes) -> None:
    reply = await call(Uploads(), "POST", "/form_only", body=body, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Malformed multipart body")


async def test_oversize_text_field_is_413() -> None:
    body = form(part("title", b"x" * 2000))
    reply = await call(Uploads(max_form_field_size=1000), "POST", "/form_only", body=body,
                       content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Form field too large")


async def test_files_are_not_limited_by_the_form_field_size() -> None:
    body = form(part("title", b"t"), part("document", b"y" * 5000, "big.bin"))
    reply = await call(Uploads(max_form_field_size=1000), "POST", "/upload", body=body,
                       content_type=CONTENT_TYPE)
    assert reply.json()["size"] == 5000


async def test_body_over_the_limit_is_413() -> None:
    body = form(part("document", b"z" * 5000, "big.bin"))
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]
    reply = await call(Uploads(max_body_size=3000), "POST", "/ignore", chunks=chunks,
                       content_type=CONTENT_TYPE)
    assert reply.status == 413


async def test_slow_multipart_body_is_408() -> None:
    body = form(part("title", b"t"))
    reply = await call(Uploads(body_timeout=0.05), "POST", "/form_only", chunks=[body[:10], body[10:]],
                       content_type=CONTENT_TYPE, pause=0.3)
    assert reply.status == 408


MISSING_PACKAGE_SCRIPT = """
import asyncio, logging, sys
sys.modules["multipart"] = None  # as if the package were not installed
from micropie import App

logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="LOG %(message)s")

class Uploads(App):
    async def index(self, a: str = "") -> str:
        return a

async def main() -> None:
    sent = []
    async def receive():
        return {"type": "http.request", "body": sys.argv[2].encode(), "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", sys.argv[1].encode())]}
    await Uploads()(scope, receive, send)
    print("STATUS", sent[0]["status"], sent[1]["body"].decode())

asyncio.run(main())
"""


async def test_missing_multipart_package_is_500_with_a_logged_hint() -> None:
    text = await run_python(MISSING_PACKAGE_SCRIPT, CONTENT_TYPE, form(part("a", b"1")).decode())
    assert "STATUS 500 500 Internal Server Error" in text, text
    assert "needs the multipart package: pip install multipart" in text, text


class Feeder:
    """A client that sends a multipart body chunk by chunk, when the test says so."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.sent_chunks = 0
        self.allowed = asyncio.Semaphore(0)
        self.client = Client([])
        self.disconnected = False

    def serve(self, app: App, path: str = "/upload") -> "asyncio.Future[None]":
        """Start ``app`` on a multipart POST to ``path`` whose body this feeder sends."""
        scope = http_scope("POST", path, headers=[(b"content-type", CONTENT_TYPE.encode())])
        return asyncio.ensure_future(app(scope, self.receive, self.client.send))

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self.allowed.release()

    async def receive(self) -> dict[str, Any]:
        if self.sent_chunks < len(self.chunks):
            await self.allowed.acquire()
            if self.disconnected:
                return {"type": "http.disconnect"}
            chunk = self.chunks[self.sent_chunks]
            self.sent_chunks += 1
            return {"type": "http.request", "body": chunk, "more_body": self.sent_chunks < len(self.chunks)}
        return await self.client.receive()

    def disconnect(self) -> None:
        self.disconnected = True
        self.allowed.release()


async def test_a_handler_consumes_a_file_while_it_still_uploads() -> None:
    started = asyncio.Event()
    first_chunk_seen_after: list[int] = []
    chunks = [part("title", b"t") + part("document", b"A" * 100, "f.bin")[:-2], b"B" * 100, b"\r\n" + end()]
    feeder = Feeder(chunks)

    class Streaming(App):
        async def upload(self, title: str, document: UploadedFile) -> str:
            started.set()
            queue = document["content"]
            first = await queue.get()
            assert first is not None
            first_chunk_seen_after.append(feeder.sent_chunks)
            rest = await read_all(document)
            return f"{len(first) + len(rest)}"

    task = feeder.serve(Streaming())
    feeder.release()
    await asyncio.wait_for(started.wait(), 1)
    await asyncio.sleep(0.02)
    assert first_chunk_seen_after == [1], "the handler got file data before the upload ended"
    feeder.release(2)
    await asyncio.wait_for(task, 1)
    assert feeder.client.reply().text == "200"


async def test_a_field_after_an_undrained_file_is_awaited_without_deadlock() -> None:
    big = os.urandom(3 * 1024 * 1024)
    body = form(part("document", big, "big.bin"), part("note", b"after the file"))
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    reply = await asyncio.wait_for(
        call(Uploads(), "POST", "/later", chunks=chunks, content_type=CONTENT_TYPE), 5)
    assert reply.json() == {"note": "after the file", "filename": "big.bin"}


async def test_a_handler_that_never_drains_a_file_still_finishes() -> None:
    body = form(part("title", b"t"), part("document", os.urandom(4 * 1024 * 1024), "big.bin"))
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    reply = await asyncio.wait_for(
        call(Uploads(), "POST", "/ignore", chunks=chunks, content_type=CONTENT_TYPE), 5)
    assert reply.text == "ignored the files, title=t"


async def test_large_file_read_after_the_parse_arrives_intact_and_in_order() -> None:
    payload = os.urandom(5 * 1024 * 1024 + 123)
    body = form(part("title", b"t"), part("document", payload, "big.bin"))
    chunks = [body[i:i + 100_000] for i in range(0, len(body), 100_000)]
    received: list[bytes] = []

    class Slow(App):
        async def upload(self, document: UploadedFile, title: str) -> str:
            # ``title`` comes before the file, so wait for a later signal: the parse end.
            await asyncio.sleep(0.05)
            received.append(await read_all(document))
            return "ok"

    reply = await call(Slow(), "POST", "/upload", chunks=chunks, content_type=CONTENT_TYPE)
    assert reply.text == "ok"
    assert received[0] == payload


async def test_an_aborted_upload_raises_multipart_file_error_from_the_queue() -> None:
    outcome: list[str] = []
    chunks = [part("document", b"A" * 100, "f.bin")[:-2], b"B" * 100, b"\r\n" + end()]
    feeder = Feeder(chunks)

    class Reader(App):
        async def upload(self, document: UploadedFile) -> str:
            try:
                await read_all(document)
            except MultipartFileError:
                outcome.append("MultipartFileError")
                raise
            outcome.append("complete")
            return "complete"

    task = feeder.serve(Reader())
    feeder.release()
    await asyncio.sleep(0.02)
    feeder.disconnect()
    await asyncio.wait_for(task, 1)
    assert outcome == ["MultipartFileError"]
    assert feeder.client.sent == []


async def test_reading_a_failed_file_keeps_failing_instead_of_hanging() -> None:
    errors: list[str] = []
    feeder = Feeder([part("document", b"A" * 100, "f.bin")[:-2], b"B" * 100, b"\r\n" + end()])

    class Reader(App):
        async def upload(self, document: UploadedFile) -> str:
            queue = document["content"]
            for _ in range(3):
                try:
                    while await queue.get() is not None:
                        pass
                except MultipartFileError:
                    errors.append("failed")
            return "read"

    task = feeder.serve(Reader())
    feeder.release()
    await asyncio.sleep(0.02)
    feeder.disconnect()
    await asyncio.wait_for(task, 1)
    assert errors == ["failed", "failed", "failed"]


async def test_a_field_failing_after_a_file_was_bound_answers_with_the_failure() -> None:
    body = form(part("document", b"A" * 50, "f.bin"), part("title", b"x" * 2000))

    class Reader(App):
        async def upload(self, document: UploadedFile) -> str:
            await read_all(document)
            return "never sent"

    reply = await call(Reader(max_form_field_size=1000), "POST", "/upload", body=body, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (413, "413 Payload Too Large: Form field too large")


async def test_a_middleware_short_circuit_cancels_the_parse() -> None:
    class Refuse(PassThrough):
        async def before_request(self, request: Request) -> ResponseOverride | None:
            return {"status_code": 403, "body": "no uploads"}

    feeder = Feeder([part("document", b"A" * 10, "f.bin"), end()])
    app = Uploads()
    app.middlewares.append(Refuse())
    before = asyncio.all_tasks()
    task = feeder.serve(app)
    feeder.release()
    await asyncio.wait_for(task, 1)
    assert (feeder.client.reply().status, feeder.client.reply().text) == (403, "no uploads")
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before, "the parse task outlived the request"


async def test_the_response_waits_for_the_parse_to_end() -> None:
    feeder = Feeder([part("title", b"early"), part("document", b"late", "f.bin"), end()])

    class Quick(App):
        async def answer(self, title: str) -> str:
            return title

    task = feeder.serve(Quick(), "/answer")
    feeder.release()
    await asyncio.sleep(0.02)
    assert feeder.client.sent == [], "responded before the multipart parse finished"
    feeder.release(2)
    await asyncio.wait_for(task, 1)
    assert feeder.client.reply().text == "early"


async def test_a_handler_error_while_parsing_cancels_the_parse() -> None:
    class Failing(App):
        async def upload(self, title: str) -> str:
            raise RuntimeError("boom")

    feeder = Feeder([part("title", b"t"), part("document", b"x", "f.bin"), end()])
    before = asyncio.all_tasks()
    task = feeder.serve(Failing())
    # The title is complete once the next part begins; the rest never comes.
    feeder.release(2)
    await asyncio.wait_for(task, 1)
    assert feeder.client.reply().status == 500
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before


async def test_a_second_file_with_the_same_name_does_not_replace_the_first() -> None:
    body = form(part("title", b"t"), part("document", b"first", "1.txt"), part("document", b"second", "2.txt"))
    reply = await call(Uploads(), "POST", "/upload", body=body, content_type=CONTENT_TYPE)
    assert (reply.json()["filename"], reply.json()["content"]) == ("1.txt", "first")


async def test_a_missing_required_multipart_field_is_400_after_the_parse() -> None:
    body = form(part("title", b"t"))
    reply = await call(Uploads(), "POST", "/upload", body=body, content_type=CONTENT_TYPE)
    assert (reply.status, reply.text) == (400, "400 Bad Request: Missing required parameter 'document'")


async def test_an_empty_file_input_is_a_blank_text_field() -> None:
    body = form(part("title", b"t"), part("document", b"", ""))
    reply = await call(Uploads(), "POST", "/form_only", body=body, content_type=CONTENT_TYPE)
    assert reply.json() == {"title": ["t"], "document": [""]}
