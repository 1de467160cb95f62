"""Issue #3's real-server check: a 100 MB multipart upload through uvicorn, streamed to a file.

The server process's peak memory must grow by less than 64 MB, the stored file must be
byte-identical, and an upload cut off midway must leave the server answering.
"""

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live import Server, serving

SIZE = 100 * 1024 * 1024
MEMORY_BUDGET_KIB = 64 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serving("uploads:app") as running:
        yield running


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "payload.bin"
    block = os.urandom(1024 * 1024)
    with path.open("wb") as output:
        for index in range(SIZE // len(block)):
            output.write(index.to_bytes(8, "big") + block[8:])
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_100_mb_upload_is_streamed_to_disk_in_bounded_memory(
    server: Server, payload: Path, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        expected = "compiled" if os.environ.get("MICROPIE_EXPECT_COMPILED") == "1" else "pure"
        assert client.get("/mode").text == expected
        baseline = server.memory_kib("VmRSS")
        target = tmp_path / "stored.bin"
        with payload.open("rb") as source:
            reply = client.post("/upload", params={"target": str(target)},
                                files={"document": ("payload.bin", source, "application/octet-stream")})
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert result["size"] == SIZE
    assert result["filename"] == "payload.bin"
    assert result["sha256"] == sha256_of(payload) == sha256_of(target)
    growth = server.memory_kib("VmHWM") - baseline
    print(f"server memory growth during the upload: {growth} KiB")
    assert growth < MEMORY_BUDGET_KIB, f"the server grew by {growth} KiB for a {SIZE >> 20} MB upload"


def test_an_upload_cut_off_midway_leaves_the_server_answering(server: Server) -> None:
    boundary = "cut-off-boundary"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"x.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    declared = len(head) + 50 * 1024 * 1024
    request = (
        f"POST /upload?target=/dev/null HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(request + head + os.urandom(5 * 1024 * 1024))
        time.sleep(0.2)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(3):
            assert client.get("/ping").text == "pong"
    assert server.process.poll() is None
