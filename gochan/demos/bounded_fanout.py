"""A weighted semaphore bounds the requests in flight; a per-host pool reuses connections.

The seed's fan-out started a goroutine per URL, each opening a connection and leaving
the response body unread. HTTP/1.1 answers in order on a connection, so one whose
response was not read to the end cannot carry the next request: Go's Transport then
dials again and its idle pool (MaxIdleConnsPerHost, 2 by default) keeps only a few, so
the server sees a connection per request and as many requests at once as there are
URLs. Done right: Weighted(8) caps the requests in flight (acquire before starting a
goroutine, release when it ends), every response is read to the end, and its
connection goes back to a pool that keeps up to 8 idle connections per host, as many
as can be busy at once, so 200 requests need at most 8 connections.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gochan import WaitGroup, Weighted, background, go

REQUESTS = 200
CONCURRENCY = 8  # Weighted(CONCURRENCY), and the idle connections kept per host
BODY = b"x" * 16_384


def fetch_wrong(host: str, port: int, path: str) -> int:
    """A new connection per request, the body never read: nothing can be reused."""
    conn = HTTPConnection(host, port)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.close()  # unread: the rest of the body dies with the connection
    conn.close()
    return resp.status


class Pool:
    """Idle connections per host, at most `max_idle` each (Go's MaxIdleConnsPerHost)."""

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[HTTPConnection]] = {}
        self._lock = threading.Lock()  # guards _idle

    def get(self, host: str, port: int) -> HTTPConnection:
        with self._lock:
            idle = self._idle.get((host, port))
            if idle:
                return idle.pop()
        return HTTPConnection(host, port)

    def put(self, conn: HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault((conn.host, conn.port), [])
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for conn in idle:
                    conn.close()
            self._idle.clear()


def fetch(pool: Pool, host: str, port: int, path: str) -> bytes:
    """A pooled connection, the body read to the end, the connection given back."""
    conn = pool.get(host, port)
    try:
        conn.request("GET", path)
        body = conn.getresponse().read()  # drained: the connection can carry the next one
    except BaseException:
        conn.close()
        raise
    pool.put(conn)
    return body


def wrong_way(host: str, port: int) -> None:
    """A goroutine per URL, all at once, each with fetch_wrong."""
    wg = WaitGroup()
    for i in range(REQUESTS):
        wg.go(fetch_wrong, host, port, f"/item/{i}")
    wg.wait()


def right_way(host: str, port: int) -> int:
    """At most CONCURRENCY fetches at a time, over pooled connections; returns the bytes."""
    ctx = background()
    sem = Weighted(CONCURRENCY)
    pool = Pool(max_idle=CONCURRENCY)
    received = []

    def one(path: str) -> None:
        try:
            received.append(len(fetch(pool, host, port, path)))
        finally:
            sem.release()

    for i in range(REQUESTS):
        sem.acquire(ctx)  # blocks while CONCURRENCY requests are in flight
        go(one, f"/item/{i}")
    sem.acquire(ctx, CONCURRENCY)  # all units back: every request is done
    pool.close()
    return sum(received)


class _Server(ThreadingHTTPServer):
    """Counts the connections it accepts and the most requests it serves at once."""

    daemon_threads = False  # server_close() joins every handler thread
    request_queue_size = REQUESTS  # the wrong way connects 200 times at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()  # guards the counters below
        self.connections = self.active = self.peak = 0

    @contextmanager
    def serving(self) -> Iterator[None]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up: expected
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a connection serves request after request
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:
        with self.server.serving():
            time.sleep(0.02)  # the work: requests overlap
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def local_server() -> Iterator[_Server]:
    """A fresh HTTP server on 127.0.0.1 in a thread; stopped, every thread joined, on exit."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, name="demo-http-server")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def run() -> int:
    results = {}
    for label, way in [("wrong", wrong_way), ("right", right_way)]:
        with local_server() as server:
            host, port = server.server_address[:2]
            started = time.monotonic()
            got = way(str(host), int(port))
            seconds = time.monotonic() - started
        results[label] = server.connections, server.peak
        print(f"{label}: {REQUESTS} requests over {server.connections} connections, at most "
              f"{server.peak} at once, {seconds:.2f}s" + (f", {got} bytes read" if got else ""))
    ok = results["wrong"][0] == REQUESTS and max(results["right"]) <= CONCURRENCY
    return 0 if ok else 1
