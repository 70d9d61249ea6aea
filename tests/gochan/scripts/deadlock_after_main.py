"""Main returns while a non-daemon thread waits forever: the interpreter would hang at exit."""

import threading

import gochan

ch: gochan.Chan[int] = gochan.Chan()


def consumer() -> None:
    ch.recv()  # @worker


threading.Thread(target=consumer, name="consumer").start()
print("main returns")
