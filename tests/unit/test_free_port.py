"""Ports for the servers tests and benchmarks start: free, and out of reach of outgoing connections."""

from __future__ import annotations

import random
import socket

from cli.bench import stack
from cli.bench.stack import free_port


def test_a_free_port_lies_below_the_kernels_ports_for_outgoing_connections_and_can_be_listened_on():
    low = stack._ephemeral_range_start()
    for _ in range(20):
        port = free_port()
        assert 1024 <= port < low
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_something_listens_on_is_passed_over(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy, other = taken.getsockname()[1], free_port()
        draws = iter([busy, busy, other])
        monkeypatch.setattr(random, "randrange", lambda *_: next(draws))
        assert free_port() == other
