"""A small in-memory JSON API for notes.

Run from the repository root with ``uvicorn examples.json_api:app`` (or
``uvicorn json_api:app --app-dir examples``), then try::

    curl http://127.0.0.1:8000/notes
    curl -X POST -H 'Content-Type: application/json' -d '{"text": "buy milk"}' http://127.0.0.1:8000/notes
    curl http://127.0.0.1:8000/notes/1
    curl -X DELETE http://127.0.0.1:8000/notes/1

One handler serves the whole ``/notes`` resource and switches on the method. The note id is
annotated ``int``, so ``/notes/abc`` is answered 400 by the framework before the handler runs.
"""

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from micropie import App

Headers = list[tuple[str, str]]
Reply = dict[str, Any] | list[dict[str, Any]] | tuple[int, object, Headers]

MAX_TEXT_LENGTH = 1000


@dataclass
class Note:
    id: int
    text: str


def error(status: int, message: str, headers: Headers | None = None) -> Reply:
    return status, {"error": message}, headers or []


class NotesAPI(App):
    def __init__(self) -> None:
        super().__init__()
        self._notes: dict[int, Note] = {}
        self._ids = itertools.count(1)

    async def notes(self, note_id: int | None = None, text: str | None = None) -> Reply:
        # ``text`` binds from the JSON body's top-level key (or a form field); a JSON value that
        # is not a string is a 400 from the framework, because of the ``str`` annotation.
        method = self.request.method
        if note_id is None:
            if method == "GET":
                return [asdict(note) for note in self._notes.values()]
            if method == "POST":
                return self._create(text)
            return error(405, "method not allowed", [("Allow", "GET, POST")])
        note = self._notes.get(note_id)
        if note is None:
            return error(404, f"note {note_id} not found")
        if method == "GET":
            return asdict(note)
        if method == "DELETE":
            del self._notes[note_id]
            return 204, "", []
        return error(405, "method not allowed", [("Allow", "GET, DELETE")])

    def _create(self, text: str | None) -> Reply:
        if text is None or not text.strip():
            return error(400, "'text' is required and must not be blank")
        if len(text) > MAX_TEXT_LENGTH:
            return error(400, f"'text' is longer than {MAX_TEXT_LENGTH} characters")
        note = Note(next(self._ids), text.strip())
        self._notes[note.id] = note
        return 201, asdict(note), [("Location", f"/notes/{note.id}")]


app = NotesAPI()
