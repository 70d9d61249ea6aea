"""Looks stuck for a second, is not: a goroutine sleeps before it sends."""

import time

import gochan

ch: gochan.Chan[str] = gochan.Chan()


def slow() -> None:
    time.sleep(1.0)
    ch.send("late")


gochan.go(slow)
print(ch.recv())
