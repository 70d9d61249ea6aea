"""Two parties each wait for the other: main sends on ``a`` while the worker sends on ``b``."""

import gochan

a: gochan.Chan[int] = gochan.Chan()
b: gochan.Chan[int] = gochan.Chan()


def worker() -> None:
    for v in a:
        b.send(v)  # @worker


gochan.go(worker)  # @go
a.send(1)
a.send(2)  # @main
print("unreachable")
