"""One id per API request, in the response header, the access log line, the audit entry and the error logs.

An incoming ``X-Request-ID`` (from the hospital's reverse proxy or load balancer) is kept when it is
sane: 1 to 64 characters among letters, digits and ``._:-`` (no spaces, nothing a log line or a
header could be split on); otherwise, or without one, a new one is generated (32 hex digits). The id
is returned in the ``X-Request-ID`` response header of every answer, errors and 500s included (the
middleware sits outside Starlette's error middleware), so a clinician's « it failed » can be matched
with the log line and the audit entry.

The id travels in a context variable: uvicorn writes its access line and its « Exception in ASGI
application » from the request's own task, and :class:`~search_api.security.audit.AuditLog` reads it
when it writes an entry of that request.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from typing import Any

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("medsearch_request_id", default=None)
_state: contextvars.ContextVar[dict | None] = contextvars.ContextVar("medsearch_request_state", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request: the indexer, the cohort watch)."""
    return _current.get()


def current_request_state() -> dict:
    """The state dict of the request being answered (``request.state``'s storage: the authenticated
    ``principal`` once the security dependency ran); empty outside a request."""
    return _state.get() or {}


def accepted(value: str | None) -> str | None:
    """*value* when it is a sane request id, else None."""
    return value if value is not None and _SANE.match(value) else None


class RequestId:
    """Pure ASGI middleware (outermost): sets the request's id and adds it to the response headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        request_id = accepted(incoming) or uuid.uuid4().hex
        _current.set(request_id)  # not reset: uvicorn logs the access line after the response started, in this task
        scope.setdefault("state", {})["request_id"] = request_id
        _state.set(scope["state"])  # the same dict request.state writes to: the audit reads the caller's role from it

        started = False

        async def send_with_id(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not started:  # an unhandled error: the 500 uvicorn would send has no id; send it here, then let
                # the server log the exception (with this id) as before
                body = b"Internal Server Error"
                await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            raise


def install(app: Any) -> None:
    """Wrap *app*'s whole middleware stack (outside ServerErrorMiddleware: a 500 carries the id too)."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: RequestId(build())
