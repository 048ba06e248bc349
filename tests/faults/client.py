"""The fault suite's HTTP client: one keep-alive connection per user, never retrying by itself."""

import http.client
import json
import time
from typing import Any

HOST = "127.0.0.1"
# gunicorn's gthread workers close a keep-alive connection idle for 2 s; a client reconnects
# before that, so that a dropped connection is always the server's doing, never a race with it.
CLIENT_IDLE_LIMIT_SECONDS = 1.0
CLIENT_TIMEOUT_SECONDS = 15


class Unreachable(ConnectionError):
    """The connection could not be opened: the request was never sent."""


class HttpClient:
    """One keep-alive HTTP/1.1 connection, as one user. Never retries a request by itself."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        if self.conn is not None and time.monotonic() - self.last_used > CLIENT_IDLE_LIMIT_SECONDS:
            self.close()
        if self.conn is None:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=CLIENT_TIMEOUT_SECONDS)
            try:
                conn.connect()
            except OSError as exc:
                raise Unreachable(str(exc)) from exc
            self.conn = conn
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        self.last_used = time.monotonic()
        if response.will_close:
            self.close()
        return response.status, data

    def call(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(method, path, body)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, {"raw": data[:300].decode(errors="replace")}


def expect(status: int, body: Any, *wanted: int) -> Any:
    if status not in wanted:
        raise RuntimeError(f"HTTP {status} (wanted {wanted}): {str(body)[:500]}")
    return body


def error_code(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""
