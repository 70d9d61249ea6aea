"""Loopback ports for the brokers this process starts: free, and never handed out twice."""

from __future__ import annotations

import socket
import threading

__all__ = ["HOST", "free_ports", "port_open", "release_ports"]

HOST = "127.0.0.1"


# Ports handed to clusters of this process that are still open; never handed out twice, so a
# killed node can be restarted on its ports while another cluster starts.
_reserved_ports: set[int] = set()
_ports_lock = threading.Lock()


def free_ports(n: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        with _ports_lock:
            ports: list[int] = []
            while len(ports) < n:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((HOST, 0))
                port = int(s.getsockname()[1])
                if port not in _reserved_ports:
                    ports.append(port)
            _reserved_ports.update(ports)
            return ports
    finally:
        for s in socks:
            s.close()


def release_ports(ports: list[int]) -> None:
    with _ports_lock:
        _reserved_ports.difference_update(ports)


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
