"""`make run` answers only requests addressed to the loopback (DNS-rebinding protection)."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import API_KEY, LocalGateway

pytestmark = pytest.mark.e2e


def port_of(gateway: LocalGateway) -> int:
    port = urlsplit(gateway.base_url).port
    assert port is not None
    return port


def get(gateway: LocalGateway, path: str, host: str) -> tuple[int, bytes]:
    """GET `path` over loopback with `host` as the Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(gateway), timeout=10)
    try:
        headers = {"Host": host, "Authorization": f"Bearer {API_KEY}"}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
@pytest.mark.parametrize("with_port", [True, False], ids=["with-port", "no-port"])
def test_loopback_host_names_are_served(
    local_gateway: LocalGateway, name: str, with_port: bool
) -> None:
    host = f"{name}:{port_of(local_gateway)}" if with_port else name
    status, body = get(local_gateway, "/v1/models", host)
    assert status == 200, body
    assert json.loads(body)["data"]


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "localhost.attacker.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "localhost:{port}@attacker.example",
        "localhost:not-a-port",
    ],
)
def test_a_foreign_host_header_is_a_403_that_says_why(
    local_gateway: LocalGateway, host: str
) -> None:
    # The key is right: a page rebound to 127.0.0.1 could not know it, but that is no defence.
    status, body = get(local_gateway, "/v1/models", host.format(port=port_of(local_gateway)))
    assert status == 403
    error = json.loads(body)["error"]
    assert error["code"] == "host_not_allowed"
    assert error["type"] == "permission_error"
    assert "127.0.0.1, localhost or [::1]" in error["message"]
    assert "DNS-rebinding" in error["message"]


def test_the_health_check_is_guarded_too(local_gateway: LocalGateway) -> None:
    status, _ = get(local_gateway, "/health", "attacker.example")
    assert status == 403


def test_a_request_without_a_host_header_is_a_403(local_gateway: LocalGateway) -> None:
    # HTTP/1.0 lets a client leave Host out; fail closed rather than guess.
    with socket.create_connection(("127.0.0.1", port_of(local_gateway)), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
    assert b"host_not_allowed" in answer
