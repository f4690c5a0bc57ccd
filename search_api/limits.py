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


#: a JSON body (search, cohort, decisions, saved search, login) is at most this: FastAPI parses a body
#: before the credentials are checked, so a 30 MB JSON body cost ~1.6 s of CPU before its 401; the
#: largest legitimate one (10 000 cohort decisions) is about 1 MB. Image uploads (multipart) keep
#: ``api.max_body_mb``.
MAX_JSON_BYTES = 2_000_000


def _detail(max_bytes: int) -> str:
    if max_bytes == MAX_JSON_BYTES:
        return f"request body too large: a JSON body is at most {max_bytes / 1e6:g} MB"
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
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # FastAPI parses a body without a Content-Type as JSON too
        parsed_as_json = content_type in (b"", b"application/json") or (content_type.startswith(b"application/") and content_type.endswith(b"+json"))
        limit = min(self.max_bytes, MAX_JSON_BYTES) if parsed_as_json else self.max_bytes
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_413(send, limit)  # nothing of the body is read
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the app's body read: Starlette's exception middleware answers it.
                    raise HTTPException(status_code=413, detail=_detail(limit))
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
