"""DNS rebinding: a webhook delivery resolves the host once, checks every address, and connects to
exactly the checked address, with the URL's Host header and, over https, SNI and certificate checks
against the host name. The resolver is tenbin's own seam (`resolve=`): a test answer stands in for
a rebinding DNS server that answers differently the second time."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tenbin.analytics import webhooks

FAST = webhooks.Policy(timeout_s=2.0, attempts=3, backoff_s=0.01)
ALLOW = "TENBIN_WEBHOOK_ALLOW_PRIVATE"
HOST = "hooks.example.test"  # .test never resolves: only a pinned connection can reach the receiver
BODY = {"type": "tenbin.alert", "alert_id": 7}


class Rebinding:
    """A resolver answering `answers[i]` to the i-th lookup (the last one from then on)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = answers
        self.lookups: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append({"host": self.headers["Host"], "body": body})  # type: ignore[attr-defined]
        status = self.server.statuses.pop(0) if self.server.statuses else 200  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def receiver(tls: ssl.SSLContext | None = None, statuses: tuple[int, ...] = ()) -> Iterator[Any]:
    """A receiver on 127.0.0.1 that keeps each POST's Host header and body (and the TLS server
    names clients asked for), answering `statuses` in turn, then 200."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.seen, server.statuses, server.sni = [], list(statuses), []  # type: ignore[attr-defined]
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: server.sni.append(name)  # type: ignore[attr-defined]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_host_resolving_to_a_private_address_is_refused_before_any_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    with receiver() as hook:
        port = hook.server_address[1]
        delivery = webhooks.deliver(f"http://{HOST}:{port}/hook", BODY, FAST, resolve=Rebinding(["127.0.0.1"]))
        assert hook.seen == []
    assert delivery.status == "failed" and delivery.attempts == 0
    assert f"{HOST}" in delivery.error and "127.0.0.1 (loopback address)" in delivery.error and ALLOW in delivery.error


def test_one_private_address_among_public_ones_refuses_the_whole_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    lookup = Rebinding(["93.184.216.34", "10.0.0.5"])
    delivery = webhooks.deliver(f"https://{HOST}/hook", BODY, FAST, resolve=lookup)
    assert delivery.attempts == 0 and "10.0.0.5 (private address)" in delivery.error
    assert lookup.lookups == [(HOST, 443)]


def test_every_attempt_connects_to_the_first_checked_answer_not_a_new_lookup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")  # the receiver is on loopback; the connection is pinned all the same
    with receiver(statuses=(503, 503)) as hook:
        port = hook.server_address[1]
        lookup = Rebinding(["127.0.0.1"], ["127.0.0.2"])  # a second lookup would land where nothing listens
        delivery = webhooks.deliver(f"http://{HOST}:{port}/hook", BODY, FAST, resolve=lookup)
        assert delivery == webhooks.Delivery("delivered", 3)
        assert lookup.lookups == [(HOST, port)]
        assert hook.seen == [{"host": f"{HOST}:{port}", "body": BODY}] * 3


def test_an_unreachable_checked_address_falls_back_to_the_next_checked_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    with receiver() as hook:
        port = hook.server_address[1]
        delivery = webhooks.deliver(f"http://{HOST}:{port}/hook", BODY, FAST, resolve=Rebinding(["::1", "127.0.0.1"]))
        assert delivery == webhooks.Delivery("delivered", 1) and len(hook.seen) == 1


def test_a_host_that_does_not_resolve_fails_as_a_retried_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    lookup = Rebinding([])
    delivery = webhooks.deliver(f"http://{HOST}/hook", BODY, FAST, resolve=lookup)
    assert delivery.status == "failed" and delivery.attempts == 3 and len(lookup.lookups) == 3
    assert delivery.error == f"ConnectError: host '{HOST}' does not resolve to any address; check the URL's host name"


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (not for 127.0.0.1) made with the openssl command."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_https_to_a_pinned_address_verifies_the_certificate_against_the_host_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    cert, key = _certificate(tmp_path, HOST)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust only the test certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    with receiver(tls) as hook:
        port = hook.server_address[1]
        delivered = webhooks.deliver(f"https://{HOST}:{port}/hook", BODY, FAST, resolve=Rebinding(["127.0.0.1"]))
        assert delivered == webhooks.Delivery("delivered", 1)
        assert hook.sni == [HOST] and hook.seen == [{"host": f"{HOST}:{port}", "body": BODY}]
        other = "other.example.test"  # same address, but the certificate is not for this name
        refused = webhooks.deliver(f"https://{other}:{port}/hook", BODY, FAST, resolve=Rebinding(["127.0.0.1"]))
        assert refused.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in refused.error
        assert other in refused.error and len(hook.seen) == 1
