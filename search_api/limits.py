"""A request-body size limit for the whole API, enforced before a body is read into memory.

A search body is a few hundred bytes and an image upload a few MB; without a limit a 200 MB JSON
body was read, parsed and validated (hundreds of MB of Python objects) before any check ran. This
pure-ASGI middleware answers 413 from the ``Content-Length`` header alone when it declares too much,
and otherwise counts the bytes as the application receives them (chunked uploads declare nothing),
stopping at the limit. Put a limit on the reverse proxy too: this one protects the process.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _detail(max_bytes: int) -> str:
    return f"request body too large: more than {max_bytes / 1e6:g} MB (setting api.max_body_mb)"


class BodySizeLimit:
    """Refuse request bodies larger than *max_bytes* with a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await _send_413(send, self.max_bytes)  # nothing of the body is read
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body read: Starlette's exception middleware answers it.
                    raise HTTPException(status_code=413, detail=_detail(self.max_bytes))
            return message

        await self.app(scope, counted, send)


async def _send_413(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": _detail(max_bytes)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
