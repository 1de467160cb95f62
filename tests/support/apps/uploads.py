"""Served by uvicorn in tests/live/test_live_upload.py: streams uploads to disk."""

import asyncio
import hashlib
from pathlib import Path

import micropie
from micropie import App
from micropie.request import UploadedFile


class UploadServer(App):
    async def upload(self, document: UploadedFile, target: str) -> dict[str, object]:
        digest = hashlib.sha256()
        size = 0
        queue = document["content"]
        with Path(target).open("wb") as output:
            while (chunk := await queue.get()) is not None:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(output.write, chunk)
        return {"size": size, "sha256": digest.hexdigest(), "filename": document["filename"]}

    async def ping(self) -> str:
        return "pong"

    async def mode(self) -> str:
        return "compiled" if micropie.COMPILED else "pure"


app = UploadServer(max_body_size=200 * 1024 * 1024)
