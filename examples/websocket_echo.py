"""WebSocket echo, as text and as JSON.

Run from the repository root with ``uvicorn examples.websocket_echo:app`` (or
``uvicorn websocket_echo:app --app-dir examples``), then connect a client, e.g.
``python -m websockets ws://127.0.0.1:8000/echo``.

- ``ws://…/echo`` sends every text message back unchanged.
- ``ws://…/json`` expects JSON objects and answers each with ``{"echo": <the object>,
  "count": <messages so far>}``; a message that is not JSON gets ``{"error": …}`` and the
  connection stays open.

The handler's first parameter receives the ``WebSocket``; when the client disconnects,
``receive_*`` raises ``ConnectionClosed``, which the framework treats as a normal end.
"""

from micropie import App, WebSocket


class Echo(App):
    async def ws_echo(self, ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_text(await ws.receive_text())

    async def ws_json(self, ws: WebSocket) -> None:
        await ws.accept()
        count = 0
        while True:
            try:
                message = await ws.receive_json()
            except ValueError:
                await ws.send_json({"error": "messages must be JSON"})
                continue
            count += 1
            await ws.send_json({"echo": message, "count": count})

    async def index(self) -> str:
        return "WebSocket endpoints: /echo (text) and /json (JSON)."


app = Echo()
