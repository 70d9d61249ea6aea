"""Goroutines (``gochan/_goroutine.py``): ``go``, panics, the live-goroutine list."""

from __future__ import annotations

import sys
import threading

import pytest
from gochan_helpers import spawn, wait_blocked

import gochan
from gochan import Chan, Goroutine, go, goroutines, set_panic_handler


def test_go_runs_function_with_args_and_kwargs_in_a_new_thread() -> None:
    out: Chan[tuple[object, ...]] = Chan(1)

    def f(a: int, b: int, *, c: int) -> None:
        out.send((a, b, c, threading.get_ident(), threading.current_thread().daemon))

    g = go(f, 1, 2, c=3)
    assert isinstance(g, Goroutine)
    a, b, c, ident, daemon = out.recv()  # type: ignore[misc]
    assert (a, b, c) == (1, 2, 3)
    assert ident != threading.get_ident()
    assert daemon  # like Go, the program does not wait for its goroutines
    assert g.join(5)
    assert not g.is_alive()


def test_go_rejects_non_callable() -> None:
    with pytest.raises(TypeError):
        go(42)  # type: ignore[arg-type]


def test_goroutines_lists_live_goroutines_only() -> None:
    ch: Chan[None] = Chan()
    g = go(ch.recv)
    wait_blocked(1, op="chan receive", chan=ch)
    assert g in goroutines()
    assert g.is_alive()
    assert not g.join(0.01)  # timeout: still running
    ch.send(None)
    assert g.join(5)
    assert g not in goroutines()


def test_goroutines_in_creation_order() -> None:
    ch: Chan[None] = Chan()
    started = [go(ch.recv) for _ in range(3)]
    wait_blocked(3, op="chan receive", chan=ch)
    mine = [g for g in goroutines() if g in started]
    assert mine == started
    ch.close()
    for g in started:
        assert g.join(5)


def test_goroutine_record_names_function_and_creation_site() -> None:
    ch: Chan[None] = Chan()

    def worker() -> None:
        ch.recv()

    g = go(worker)
    try:
        assert "worker" in g.name
        assert g.func_name.endswith("worker")
        text = repr(g)
        assert "worker" in text
        assert "created by test_goroutine_record_names_function_and_creation_site" in text
        assert "test_goroutine.py" in text
    finally:
        ch.close()
        g.join(5)


def test_panic_goes_to_threading_excepthook_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))

    def boom() -> None:
        raise ValueError("boom")

    assert go(boom).join(5)
    assert len(seen) == 1 and isinstance(seen[0], ValueError)


def test_set_panic_handler_routes_panics_and_none_restores_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooked: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: hooked.append(args.exc_value))
    handled: list[BaseException] = []

    def boom() -> None:
        raise KeyError("k")

    set_panic_handler(handled.append)
    try:
        assert go(boom).join(5)
    finally:
        set_panic_handler(None)
    assert len(handled) == 1 and isinstance(handled[0], KeyError)
    assert hooked == []
    assert go(boom).join(5)
    assert len(hooked) == 1 and isinstance(hooked[0], KeyError)


def test_goroutine_listed_as_soon_as_go_returns_uncontended() -> None:
    ch: Chan[None] = Chan()
    gs = []
    try:
        for _ in range(50):
            g = go(ch.recv)
            gs.append(g)
            assert g in goroutines()
    finally:
        ch.close()
        for g in gs:
            g.join(5)


@pytest.mark.timeout(60)
def test_goroutine_listed_as_soon_as_go_returns_under_contention() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinners = [threading.Thread(target=spin) for _ in range(3)]
    ch: Chan[None] = Chan()
    gs: list[Goroutine] = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    missing = 0
    try:
        for t in spinners:
            t.start()
        for _ in range(300):
            g = go(ch.recv)
            gs.append(g)
            if g not in goroutines():
                missing += 1
                break
    finally:
        sys.setswitchinterval(old)
        stop.set()
        for t in spinners:
            t.join()
        ch.close()
        for g in gs:
            g.join(5)
    assert missing == 0


def test_spawn_helper_reports_result_and_error() -> None:
    assert spawn(lambda: 3).result() == 3
    s = spawn(gochan.nilchan.close)
    s.join()
    assert isinstance(s.error, gochan.Panic)
