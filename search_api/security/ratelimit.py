"""Per-identity rate limiting (a sliding one-minute window, in memory).

One API process serves a hospital's portal: an in-memory window per identity is enough and needs no
extra service. Behind several API processes, put the limit on the reverse proxy as well.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import HTTPException


class RateLimiter:
    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, identity: str, now: float) -> deque[float]:
        """*identity*'s events of the last window, oldest first (older ones dropped); call under the lock."""
        hits = self._hits.setdefault(identity, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, identity: str) -> int | None:
        """Seconds until *identity* is under its budget again, None when it is now (counts nothing)."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._hits.get(identity, ()) if t > now - self.window_s]
            return max(1, int(hits[0] + self.window_s - now) + 1) if len(hits) >= self.per_minute else None

    def hit(self, identity: str) -> None:
        """Count one event of *identity* (a failed login) without refusing anything."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            self._window(identity, now).append(now)

    def check(self, identity: str) -> None:
        """Count one request of *identity*; 429 with ``Retry-After`` once it is over its budget."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._window(identity, now)
            if len(hits) >= self.per_minute:
                retry = max(1, int(hits[0] + self.window_s - now) + 1)
                raise HTTPException(
                    status_code=429, detail=f"too many requests: at most {self.per_minute} a minute",
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle identities rather than grow without bound
                for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                    del self._hits[key]
