"""A WebSocket chat with rooms.

Run from the repository root with ``uvicorn examples.chat:app`` (or
``uvicorn chat:app --app-dir examples``) and open http://127.0.0.1:8000/ in two browser tabs.

A client joins a room by connecting to ``ws://…/chat/<room>?name=<name>`` (``ws_chat`` serves
``/chat``; the next path segment binds to ``room``, the query to ``name``). Every text message
it sends goes to everyone in that room, itself included, as JSON:
``{"event": "message", "room": …, "name": …, "text": …}``; ``join`` and ``leave`` events
announce arrivals and departures.
"""

import asyncio
import re

from micropie import App, WebSocket

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>micropie chat</title>
<form id="join">
  <input id="room" value="lobby" placeholder="room"> <input id="name" placeholder="your name">
  <button>Join</button>
</form>
<ul id="log"></ul>
<form id="say" hidden><input id="text" autocomplete="off"> <button>Send</button></form>
<script>
let socket;
const log = (line) => {
  const item = document.createElement("li");
  item.textContent = line;  // textContent, never innerHTML: messages are untrusted
  document.getElementById("log").append(item);
};
document.getElementById("join").onsubmit = (event) => {
  event.preventDefault();
  const room = encodeURIComponent(document.getElementById("room").value);
  const name = encodeURIComponent(document.getElementById("name").value || "anonymous");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/chat/${room}?name=${name}`);
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    log(data.event === "message" ? `${data.name}: ${data.text}` : `* ${data.name} ${data.event}s ${data.room}`);
  };
  socket.onclose = () => log("* disconnected");
  document.getElementById("say").hidden = false;
};
document.getElementById("say").onsubmit = (event) => {
  event.preventDefault();
  const text = document.getElementById("text");
  socket.send(text.value);
  text.value = "";
};
</script>
"""

ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
MAX_NAME = 40
MAX_MESSAGE = 2000


class Chat(App):
    def __init__(self) -> None:
        super().__init__()
        # Room name → the connections in it. Only touched from the event loop, between awaits,
        # so it needs no lock.
        self._rooms: dict[str, set[WebSocket]] = {}

    async def index(self) -> str:
        return PAGE

    async def ws_chat(self, ws: WebSocket, room: str = "lobby", name: str = "anonymous") -> None:
        if ROOM_NAME.fullmatch(room) is None:
            await ws.close(1008, "Room names are 1 to 40 letters, digits, '-' or '_'")
            return
        name = name.strip()[:MAX_NAME] or "anonymous"
        await ws.accept()
        members = self._rooms.setdefault(room, set())
        members.add(ws)
        try:
            await self._broadcast(room, {"event": "join", "room": room, "name": name})
            while True:
                text = await ws.receive_text()
                message = {"event": "message", "room": room, "name": name, "text": text[:MAX_MESSAGE]}
                await self._broadcast(room, message)
        finally:
            # Reached when receive_text() raises ConnectionClosed: the client left.
            members.discard(ws)
            if not members:
                del self._rooms[room]
            await self._broadcast(room, {"event": "leave", "room": room, "name": name})

    async def _broadcast(self, room: str, event: dict[str, str]) -> None:
        members = list(self._rooms.get(room, ()))
        # Sent concurrently, so one slow client does not hold up the others. A send to a client
        # that is just leaving fails; its own handler is about to remove it, so the error is
        # not ours to handle.
        await asyncio.gather(*(member.send_json(event) for member in members), return_exceptions=True)


app = Chat()
