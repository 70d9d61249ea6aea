"""Every kind of blocked operation, reported three ways: stall warnings, ``dump()`` and
the deadlock report. tests/gochan/test_build.py runs this on the pure and the compiled
build and compares what they print: the same user lines and channels."""

import logging
import sys
import time

import gochan
from gochan import Chan, Deadlock, nilchan, select
from gochan._registry import blocked_snapshot

logging.basicConfig(stream=sys.stdout, format="warning: %(message)s", level=logging.WARNING)
gochan.set_stall_warning(0.05)

unbuffered: Chan[int] = Chan()  # @make-unbuffered
full: Chan[int] = Chan(1)  # @make-full
full.send(0)
ranged: Chan[int] = Chan()  # @make-ranged
left: Chan[int] = Chan()  # @make-left
right: Chan[int] = Chan(1)  # @make-right
right.send(0)
never: Chan[None] = Chan()  # @make-never


def sender() -> None:
    unbuffered.send(1)  # @send


def filler() -> None:
    full.send(1)  # @full-send


def ranger() -> None:
    for _ in ranged:  # @range
        pass


def selector() -> None:
    select(left.recv_ok, (right.send, 1))  # @select


def nil_waiter() -> None:
    nilchan.recv()  # @nil


for body in (sender, filler, ranger, selector, nil_waiter):
    gochan.go(body)  # @go
deadline = time.monotonic() + 10
while len(blocked_snapshot()) < 5 or not all(b.warned for b in blocked_snapshot()):
    if time.monotonic() > deadline:
        sys.exit("the goroutines did not all block and get their stall warning")
    time.sleep(0.01)
sys.stdout.flush()
print("--- dump")
print(gochan.dump())
print("--- deadlock")
try:
    never.recv()  # @main
except Deadlock as exc:
    print(exc)
