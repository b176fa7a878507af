"""The request-size guard: a pure ASGI middleware that answers 413 (JSON naming the limit) when
a request body is larger than ``max_bytes``, from its Content-Length before anything is read, or
while it streams (chunked uploads without a length). Per-file caps are in :mod:`.uploads`."""

from __future__ import annotations

import json
from typing import Any


class _TooLarge(Exception):
    pass


def _too_large(max_bytes: int) -> tuple[dict, dict]:
    body = json.dumps(
        {"detail": f"the request body is larger than the limit of {max_bytes} bytes", "field": None}
    ).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Wrap ``app``: request bodies over ``max_bytes`` get 413 and never reach a route whole."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        try:
            length = int(headers.get(b"content-length", b"-1"))
        except ValueError:
            length = -1
        start, body = _too_large(self.max_bytes)
        if length > self.max_bytes:
            await send(start)
            await send(body)
            return
        state = {"total": 0, "over": False, "answered": False}

        async def limited_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                state["total"] += len(message.get("body", b""))
                if state["total"] > self.max_bytes:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded_send(message: dict) -> None:
            if not state["over"]:
                await send(message)
            elif message["type"] == "http.response.start" and not state["answered"]:
                state["answered"] = True  # the app's own answer (e.g. 400) becomes our 413
                await send(start)
                await send(body)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        if state["over"] and not state["answered"]:
            await send(start)
            await send(body)
