"""Every request Quorum makes to a URL it was given: http(s) only, never to an inside address.

The rules (docs/review-loops.md, "Where webhooks may go"):

- Only ``http`` and ``https``; no credentials in the URL (``user:pass@``); a host is required.
- The host is resolved once, at send time, and every address it resolves to must be outside:
  not loopback, private (10/8, 172.16/12, 192.168/16), link-local (169.254/16, the cloud
  metadata address), CGNAT (100.64/10), multicast, reserved, unspecified, nor any other
  non-global range, nor IPv6 ULA / link-local / loopback, nor an IPv4 address inside IPv6
  (mapped, 6to4, NAT64). ``settings.QUORUM_OUTBOUND_ALLOW`` (a list of CIDRs) lets the operator
  allow some of them, e.g. a hook receiver on the same host.
- The connection goes to the checked address itself, never through a second lookup (which DNS
  rebinding could answer differently); the Host header and TLS SNI keep the URL's name.
- Redirects are never followed: a 3xx is the answer, and a caller treats it as a failure.
- Errors are coarse ("address not allowed", "name not resolved", "connection refused",
  "timed out", "TLS failed", "connection failed"): never socket details that would make the
  error messages a port scanner.

``outbound_check_url`` is the check without a lookup, for save time (a form, an API field).
"""

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = {"http": 80, "https": 443}
DEFAULT_MAX_BODY_BYTES = 1 * 2**20
# Non-global ranges that Python's ``is_global`` does not all cover on every version.
_ALWAYS_INTERNAL = [
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """A URL or address that no request may go to; ``reason`` names the rule."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class OutboundTarget:
    scheme: str
    host: str  # ASCII (IDNA), without brackets
    port: int
    path: str  # path and query, never empty


@dataclass(frozen=True)
class OutboundResult:
    """The answer's status (a 3xx included: redirects are not followed), or None and a coarse
    error; ``body`` holds at most the caller's ``max_bytes``."""

    status: int | None
    error: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allow_list() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in getattr(settings, "QUORUM_OUTBOUND_ALLOW", [])
    ]


def address_is_internal(address: IPAddress) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and address_is_internal(embedded):
            return True
        address = ipaddress.IPv6Address(int(address))  # without a scope id
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or any(address in network for network in _ALWAYS_INTERNAL)
    )


def address_allowed(address: IPAddress) -> bool:
    """An outside address, or an inside one that ``QUORUM_OUTBOUND_ALLOW`` allows."""
    if not address_is_internal(address):
        return True
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates = [ipaddress.IPv6Address(int(address))]  # without a scope id
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
    allowed = _allow_list()
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in allowed
    )


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def outbound_check_url(url: str) -> OutboundTarget:
    """The rules that need no lookup: scheme, credentials, host, port, and a literal address.
    Raises OutboundRefused naming the rule."""
    if not url or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise OutboundRefused("malformed", "the URL is empty or has spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("malformed", "the URL cannot be read") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise OutboundRefused(
            "scheme_not_allowed", f"only http and https URLs are allowed, not {scheme or 'none'!r}"
        )
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise OutboundRefused(
            "credentials_in_url", "a URL must not carry a user name or password (user:pass@)"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("no_host", "the URL has no host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise OutboundRefused("malformed", "the URL's host name is not valid") from None
    literal = _literal_address(host)
    if literal is not None and not address_allowed(literal):
        raise OutboundRefused("address_not_allowed", "the URL's address is not allowed")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return OutboundTarget(scheme, host, port or ALLOWED_SCHEMES[scheme], path)


class _Failed(Exception):
    """A coarse failure: its message is all a caller records."""


def _resolve(target: OutboundTarget) -> list[str]:
    """Every address of the host, each checked; one lookup per request."""
    literal = _literal_address(target.host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _Failed("name not resolved") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not address_allowed(address):
            # One inside address is enough to refuse: a name never mixes in an inside target.
            raise OutboundRefused("address_not_allowed", "address not allowed")
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise _Failed("name not resolved")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address; the Host header keeps the URL's name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and certificate check use the URL's name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        self.tls_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls_context)
        self.pinned_address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)


def _connect(target: OutboundTarget, timeout: float) -> http.client.HTTPConnection:
    """A connection to the first address that answers; the coarse error of the last one."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    error = "connection failed"
    for address in _resolve(target):
        connection = connection_class(target.host, target.port, address=address, timeout=timeout)
        try:
            connection.connect()
        except ConnectionRefusedError:
            error = "connection refused"
        except TimeoutError:
            error = "timed out"
        except ssl.SSLError:
            error = "TLS failed"
        except OSError:
            error = "connection failed"
        else:
            return connection
        connection.close()
    raise _Failed(error)


def outbound_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_bytes: int = 0,
) -> OutboundResult:
    """One request under the rules above, all of it within ``timeout`` seconds (a receiver
    that trickles its answer is cut off); never raises for a refused or failed request."""
    deadline = time.monotonic() + timeout
    try:
        target = outbound_check_url(url)
        connection = _connect(target, deadline)
    except OutboundRefused as exc:
        if exc.reason == "address_not_allowed":
            return OutboundResult(None, "address not allowed")
        return OutboundResult(None, f"URL not allowed ({exc.reason})")
    except _Failed as exc:
        return OutboundResult(None, str(exc))
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(deadline - time.monotonic(), 0.001), cut_off)
    timer.daemon = True
    timer.start()
    try:
        connection.request(method, target.path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read(max_bytes) if max_bytes else b""
        if expired.is_set():
            return OutboundResult(None, "timed out")
        return OutboundResult(response.status, "", data)
    except TimeoutError:
        return OutboundResult(None, "timed out")
    except ssl.SSLError:
        return OutboundResult(None, "timed out" if expired.is_set() else "TLS failed")
    except (OSError, http.client.HTTPException, ValueError):
        return OutboundResult(None, "timed out" if expired.is_set() else "connection failed")
    finally:
        timer.cancel()
        connection.close()


def outbound_post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float = 10.0
) -> OutboundResult:
    """POST ``body``; the answer's status only (its body is not read)."""
    return outbound_request("POST", url, body=body, headers=headers, timeout=timeout)


def outbound_get(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> OutboundResult:
    """GET a URL; at most ``max_bytes`` of its body."""
    return outbound_request("GET", url, headers=headers, timeout=timeout, max_bytes=max_bytes)


def body_signature(body: bytes, secret: str) -> str:
    """The ``sha256=<hex HMAC>`` signature Quorum puts on every outbound request it signs
    (webhooks, hooks), so a receiver checks each with the secret it shares with Quorum."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- Signed deliveries retried with backoff ---------------------------------------------------
# What review loops' webhooks (workflows/services/webhooks.py) and streaming jobs' webhooks
# (labeling/pipelines/services/stream_deliveries.py) share: the headers, the wait between
# attempts, and how long an attempt without an outcome is taken for still sending. Each keeps
# its own rows (a delivery and its attempts), written before a request leaves.

SIGNATURE_HEADER = "X-Quorum-Signature"
DELIVERY_HEADER = "X-Quorum-Delivery"
EVENT_HEADER = "X-Quorum-Event"
ATTEMPT_HEADER = "X-Quorum-Attempt"
# While an attempt may still be in flight (its send timeout plus this margin) no other attempt
# at the same delivery starts.
IN_FLIGHT_MARGIN_SECONDS = 5


def delivery_retry_seconds(attempts: int) -> float:
    """The wait after ``attempts`` failed attempts: the base, doubled for each attempt before
    the last, capped (``QUORUM_WEBHOOK_RETRY_BASE_SECONDS`` / ``_MAX_SECONDS``)."""
    base = settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS
    return min(base * 2 ** (attempts - 1), settings.QUORUM_WEBHOOK_RETRY_MAX_SECONDS)


def delivery_in_flight_until(started_at: datetime, finished_at: datetime | None) -> datetime | None:
    """Until when an attempt that recorded no outcome may still be sending; None once it has
    one. Another attempt starting before then could send the delivery twice at once."""
    if finished_at is not None:
        return None
    in_flight = settings.QUORUM_WEBHOOK_SEND_TIMEOUT_SECONDS + IN_FLIGHT_MARGIN_SECONDS
    return started_at + timedelta(seconds=in_flight)


def delivery_headers(
    body: bytes, secret: str, *, event: str, delivery_id: str, attempt: int, agent: str
) -> dict[str, str]:
    """The headers of one attempt at a signed delivery."""
    return {
        "Content-Type": "application/json",
        "User-Agent": agent,
        SIGNATURE_HEADER: body_signature(body, secret),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
        ATTEMPT_HEADER: str(attempt),
    }


def delivery_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """One attempt under the rules above: (HTTP status or None, coarse error or "")."""
    result = outbound_post(
        url, body=body, headers=headers, timeout=settings.QUORUM_WEBHOOK_SEND_TIMEOUT_SECONDS
    )
    return result.status, result.error


# --- Kept-alive connections (issue 16: a hook is called once per item of a job) --------------


def _refused_result(exc: OutboundRefused) -> OutboundResult:
    if exc.reason == "address_not_allowed":
        return OutboundResult(None, "address not allowed")
    return OutboundResult(None, f"URL not allowed ({exc.reason})")


class OutboundConnection:
    """Requests to one origin over one kept-alive connection, for a thread that calls the same
    URL many times: each request under the rules of ``outbound_request`` (the URL checked, the
    address resolved and checked when a connection opens and kept for it, no redirects, the
    whole request cut off at ``timeout``), without a lookup and a new connection per request.
    One per thread: never shared."""

    def __init__(self) -> None:
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str, int] | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._origin = None

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        max_bytes: int = 0,
    ) -> OutboundResult:
        deadline = time.monotonic() + timeout
        try:
            target = outbound_check_url(url)
        except OutboundRefused as exc:
            return _refused_result(exc)
        origin = (target.scheme, target.host, target.port)
        reused = self._connection is not None and self._origin == origin
        if not reused:
            self.close()
            try:
                self._connection = _connect(target, timeout)
            except OutboundRefused as exc:
                return _refused_result(exc)
            except _Failed as exc:
                return OutboundResult(None, str(exc))
            self._origin = origin
        result, sent = self._send(method, target, body, headers or {}, deadline, max_bytes)
        if reused and not sent:  # the server had closed the idle connection: once more
            self.close()
            return self.request(
                method, url, body=body, headers=headers, timeout=timeout, max_bytes=max_bytes
            )
        return result

    def _send(
        self,
        method: str,
        target: OutboundTarget,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        max_bytes: int,
    ) -> tuple[OutboundResult, bool]:
        """The result, and whether the server answered at all (False: a stale connection)."""
        connection = self._connection
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            with contextlib.suppress(OSError, AttributeError):
                connection.sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(deadline - time.monotonic(), 0.001), cut_off)
        timer.daemon = True
        timer.start()
        answered = False
        try:
            connection.request(method, target.path, body=body, headers=headers)
            response = connection.getresponse()
            answered = True
            data = response.read(max_bytes) if max_bytes else b""
            if not response.isclosed():
                response.read(DEFAULT_MAX_BODY_BYTES)  # the rest, to keep the connection
            if expired.is_set():
                self.close()
                return OutboundResult(None, "timed out"), True
            if not response.isclosed() or response.will_close:
                self.close()  # more than we read, or the server closes it
            return OutboundResult(response.status, "", data), True
        except TimeoutError:
            self.close()
            return OutboundResult(None, "timed out"), True
        except ssl.SSLError:
            self.close()
            return OutboundResult(None, "timed out" if expired.is_set() else "TLS failed"), True
        except (OSError, http.client.HTTPException, ValueError):
            self.close()
            if expired.is_set():
                return OutboundResult(None, "timed out"), True
            return OutboundResult(None, "connection failed"), answered
        finally:
            timer.cancel()
