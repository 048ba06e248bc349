"""Outbound requests cannot reach inside: each internal category is refused before any packet
leaves, redirects are answers (never followed), the connection goes to the address that was
checked (one lookup: no DNS rebinding), and errors are coarse.

No test here sends anything to a non-loopback address: ``loopback_only`` fails any other
connection attempt before it is made.
"""

import contextlib
import http.server
import ipaddress
import socket
import subprocess
import threading

import pytest

from labeling.outbound import (
    OutboundRefused,
    address_is_internal,
    outbound_check_url,
    outbound_get,
    outbound_post,
)

INTERNAL_URLS = [
    "http://127.0.0.1:8150/hook",
    "http://127.9.9.9/",
    "http://[::1]:8150/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://172.31.255.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://0.0.0.0:8150/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.1.2.3]/",
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
]
# Names whose lookup answers an inside address without leaving the machine.
INTERNAL_BY_NAME = [
    "http://localhost:8150/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f.1/",
]


@pytest.fixture
def connects(monkeypatch) -> list:
    """Every connection attempt; one to a non-loopback address fails before it is made."""
    seen: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        seen.append(address)
        host = address[0]
        if host not in ("127.0.0.1", "::1") and not host.startswith("127."):
            raise AssertionError(f"a test tried to connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


@pytest.fixture
def lookups(monkeypatch) -> dict:
    """Names the tests invent: each answers its list of addresses in turn (then the last)."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            calls.append(host)
            answers = table[host]
            address = answers[min(len(calls) - 1, len(answers) - 1)]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return {"table": table, "calls": calls}


@pytest.fixture
def receiver():
    """A loopback HTTP server: records each request; answers ``status`` (and ``location``)."""
    state = {"status": 200, "location": "", "requests": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length) if length else b""
            state["requests"].append(
                {"method": self.command, "path": self.path, "host": self.headers["Host"]}
                | {"body": body}
            )
            self.send_response(state["status"])
            if state["location"]:
                self.send_header("Location", state["location"])
            payload = b"hello"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer  # noqa: N815 - the stdlib's names

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["port"] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("url", INTERNAL_URLS + INTERNAL_BY_NAME)
def test_every_internal_category_is_refused_with_no_packet_sent(url, connects, settings):
    settings.QUORUM_OUTBOUND_ALLOW = []
    result = outbound_post(url, body=b"{}", headers={})
    assert (result.status, result.error) == (None, "address not allowed")
    assert outbound_get(url).error == "address not allowed"
    assert connects == []


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_literal_internal_address_is_refused_at_save_time(url, settings):
    settings.QUORUM_OUTBOUND_ALLOW = []
    with pytest.raises(OutboundRefused) as refused:
        outbound_check_url(url)
    assert refused.value.reason == "address_not_allowed"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("gopher://example.com:70/", "scheme_not_allowed"),
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("//example.com/hook", "scheme_not_allowed"),
        ("http://user:pass@example.com/hook", "credentials_in_url"),
        ("https://user@example.com/hook", "credentials_in_url"),
        ("http://:secret@example.com/", "credentials_in_url"),
        ("http:///nohost", "no_host"),
        ("http://example.com:99999/", "malformed"),
        ("http://exa mple.com/", "malformed"),
        ("http://example.com/\r\nX-Injected: 1", "malformed"),
    ],
)
def test_urls_are_checked_before_any_lookup_with_a_named_reason(url, reason, lookups):
    with pytest.raises(OutboundRefused) as refused:
        outbound_check_url(url)
    assert refused.value.reason == reason
    assert lookups["calls"] == []


def test_public_urls_pass_the_save_time_check():
    target = outbound_check_url("https://hooks.example.com/quorum?x=1")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "/quorum?x=1",
    )
    assert not address_is_internal(ipaddress.ip_address("93.184.216.34"))


def test_a_name_that_resolves_inside_is_refused_at_send_time(lookups, connects, settings):
    settings.QUORUM_OUTBOUND_ALLOW = []
    lookups["table"]["metadata.example.test"] = ["169.254.169.254"]
    result = outbound_post("http://metadata.example.test/latest", body=b"", headers={})
    assert result.error == "address not allowed"
    assert connects == []


def test_the_checked_address_is_the_one_connected_to_and_the_host_header_is_kept(
    lookups, connects, receiver, settings
):
    """DNS rebinding: the name answers loopback (allowed) once and an inside address after
    that; one lookup per request, so the request reaches the checked address."""
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    lookups["table"]["hook.example.test"] = ["127.0.0.1", "10.0.0.1"]
    url = f"http://hook.example.test:{receiver['port']}/in?a=1"
    result = outbound_post(url, body=b'{"x":1}', headers={"Content-Type": "application/json"})
    assert (result.status, result.error) == (200, "")
    assert lookups["calls"] == ["hook.example.test"]
    (request,) = receiver["requests"]
    assert request["host"] == f"hook.example.test:{receiver['port']}"
    assert (request["method"], request["path"], request["body"]) == ("POST", "/in?a=1", b'{"x":1}')
    assert connects == [("127.0.0.1", receiver["port"])]
    # The next request looks up again and gets the inside address: refused, not connected.
    assert outbound_post(url, body=b"", headers={}).error == "address not allowed"
    assert len(connects) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_the_answer_and_is_not_followed(status, receiver, loopback_allowed):
    receiver["status"] = status
    receiver["location"] = f"http://127.0.0.1:{receiver['port']}/elsewhere"
    result = outbound_post(f"http://127.0.0.1:{receiver['port']}/hook", body=b"payload", headers={})
    assert (result.status, result.ok) == (status, False)
    assert [r["path"] for r in receiver["requests"]] == ["/hook"]


def test_get_reads_at_most_max_bytes(receiver, loopback_allowed):
    result = outbound_get(f"http://127.0.0.1:{receiver['port']}/media", max_bytes=3)
    assert (result.status, result.body) == (200, b"hel")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_errors_are_coarse_and_do_not_tell_ports_apart(loopback_allowed, settings):
    closed = _free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    silent = listener.getsockname()[1]

    def close_each():  # an open port that speaks no HTTP: accept, then hang up
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=close_each, daemon=True).start()
    try:
        refused = outbound_post(f"http://127.0.0.1:{closed}/", body=b"", headers={}).error
        hung_up = outbound_post(f"http://127.0.0.1:{silent}/", body=b"", headers={}).error
        assert refused == "connection refused"
        assert hung_up == "connection failed"
        for text in (refused, hung_up):
            assert "errno" not in text.lower() and "[" not in text and "127.0.0.1" not in text
        # Without the allowance an inside port, open or closed, gives one and the same answer.
        settings.QUORUM_OUTBOUND_ALLOW = []
        answers = {
            outbound_post(f"http://127.0.0.1:{port}/", body=b"", headers={}).error
            for port in (closed, silent)
        }
        assert answers == {"address not allowed"}
    finally:
        listener.close()


def test_a_slow_receiver_times_out_coarsely(loopback_allowed):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts (in the backlog) and never answers
    try:
        port = listener.getsockname()[1]
        result = outbound_post(f"http://127.0.0.1:{port}/", body=b"", headers={}, timeout=0.5)
        assert result.error == "timed out"
    finally:
        listener.close()


def test_https_sends_the_urls_name_as_sni_and_verifies_the_certificate(tmp_path, lookups, settings):
    """The TLS connection goes to the checked address, with the URL's name in SNI; a
    certificate no CA vouches for is a coarse failure."""
    ssl = pytest.importorskip("ssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hook.example.test", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a test certificate: {made.stderr[:200]!r}")
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    lookups["table"]["hook.example.test"] = ["127.0.0.1"]
    server_names: list = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve_one():
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = outbound_post(f"https://hook.example.test:{port}/", body=b"", headers={})
        thread.join(5)
        assert server_names == ["hook.example.test"]
        assert result.error == "TLS failed"
    finally:
        listener.close()


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(loopback_allowed):
    """The timeout bounds the whole request, not each read: a byte every 0.2 s never trips a
    per-read timeout of 0.5 s, yet the request ends as timed out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(25):
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(b"X")
                except OSError:
                    return
            with contextlib.suppress(OSError):
                conn.sendall(b": y\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = outbound_post(f"http://127.0.0.1:{port}/", body=b"", headers={}, timeout=0.5)
        assert (result.status, result.error) == (None, "timed out")
    finally:
        stop.set()
        thread.join(5)
        listener.close()
