"""labeling.outbound.OutboundConnection: kept-alive requests under the outbound rules."""

import http.server
import threading

import pytest

from labeling.outbound import OutboundConnection


@pytest.fixture
def server(settings):
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.0/8"]
    seen = {"connections": 0, "requests": 0, "close_after": None}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            seen["connections"] += 1

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen["requests"] += 1
            if seen["requests"] == 3:
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if seen["close_after"] == seen["requests"]:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    seen["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    yield seen
    httpd.shutdown()
    httpd.server_close()


def test_requests_share_one_connection_and_redirects_are_answers(server):
    connection = OutboundConnection()
    statuses = [
        connection.request("POST", server["url"], body=b"{}", max_bytes=100).status
        for _ in range(5)
    ]
    assert statuses == [200, 200, 302, 200, 200]  # the 3xx is the answer, never followed
    assert (server["requests"], server["connections"]) == (5, 1)
    connection.close()


def test_a_closed_connection_is_opened_again(server):
    server["close_after"] = 1
    connection = OutboundConnection()
    first = connection.request("POST", server["url"], body=b"{}", max_bytes=100)
    second = connection.request("POST", server["url"], body=b"{}", max_bytes=100)
    assert (first.status, second.status, first.body) == (200, 200, b'{"ok": true}')
    assert server["connections"] == 2


def test_inside_addresses_stay_refused(settings):
    settings.QUORUM_OUTBOUND_ALLOW = []
    result = OutboundConnection().request("POST", "http://127.0.0.1:9/", body=b"{}")
    assert (result.status, result.error) == (None, "address not allowed")
    result = OutboundConnection().request("POST", "ftp://example.org/", body=b"{}")
    assert result.error == "URL not allowed (scheme_not_allowed)"
