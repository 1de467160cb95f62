"""Uploading files to disk, streamed: the upload is written while it still arrives.

Run from the repository root with ``uvicorn examples.upload:app`` (or
``uvicorn upload:app --app-dir examples``), open http://127.0.0.1:8000/ and pick a file, or::

    curl -F file=@photo.jpg http://127.0.0.1:8000/upload

Several files under one field name (``<input type="file" name="files" multiple>``) bind to a
``list[UploadedFile]`` parameter, every one of them, in order::

    curl -F files=@a.jpg -F files=@b.jpg http://127.0.0.1:8000/upload_many

Files are stored in the directory named by ``MICROPIE_UPLOAD_DIR`` (default: a ``micropie-uploads``
directory in the system's temporary directory). The reply gives the stored name, the size and
the SHA-256 of what was received.
"""

import asyncio
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from micropie import App

# A multipart file field, as bound to a handler parameter: ``filename``, ``content_type`` and
# ``content``, a queue of ``bytes`` chunks that ends with ``None``.
from micropie import UploadedFile

UPLOAD_DIR = Path(os.environ.get("MICROPIE_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "micropie-uploads")
MAX_UPLOAD = 64 * 1024 * 1024

FORM = """<!doctype html>
<title>Upload</title>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" name="file"> <button>Upload</button>
</form>
<form method="post" action="/upload_many" enctype="multipart/form-data">
  <input type="file" name="files" multiple> <button>Upload them all</button>
</form>
"""


def safe_filename(filename: str) -> str:
    """A name that is safe to create inside the upload directory, whatever the client sent.

    Any directory part (``../../etc/passwd``, ``C:\\x``) is dropped, and only letters, digits,
    ``.``, ``-`` and ``_`` are kept, so the name can never leave the directory or be hidden.
    """
    name = unicodedata.normalize("NFKD", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name.encode("ascii", "ignore").decode("ascii"))
    name = name.lstrip(".-_")[:100]
    return name or "upload"


class Uploads(App):
    async def index(self) -> str:
        return FORM

    async def upload(self, file: UploadedFile) -> tuple[int, dict[str, Any]]:
        return 201, await store(file)

    async def upload_many(self, files: list[UploadedFile]) -> tuple[int, list[dict[str, Any]]]:
        # The files are bound once the whole body has been parsed; each waits in its own
        # queue (spilled to a temporary file past 1 MiB) until it is stored here.
        return 201, [await store(file) for file in files]


async def store(file: UploadedFile) -> dict[str, Any]:
    """Write ``file`` into the upload directory as it arrives; what was stored, and its digest."""
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    # A random prefix keeps two uploads of "report.pdf" from overwriting each other.
    stored_as = f"{secrets.token_hex(8)}-{safe_filename(file['filename'])}"
    target = UPLOAD_DIR / stored_as
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    queue = file["content"]
    try:
        with partial.open("xb") as output:
            while (chunk := await queue.get()) is not None:
                digest.update(chunk)
                size += len(chunk)
                # Disk writes run in a worker thread so they never stall the event loop.
                await asyncio.to_thread(output.write, chunk)
    except BaseException:
        # The upload failed (MultipartFileError: the client went away or sent a broken
        # body) or the disk did: keep no half-written file.
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)
    return {
        "stored_as": stored_as,
        "filename": file["filename"],
        "content_type": file["content_type"],
        "size": size,
        "sha256": digest.hexdigest(),
    }


app = Uploads(max_body_size=MAX_UPLOAD)
