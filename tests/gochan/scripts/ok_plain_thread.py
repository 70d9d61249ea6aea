"""Looks stuck, is not: a plain thread waits on I/O, then sleeps, then sends."""

import select
import socket
import threading
import time

import gochan

ch: gochan.Chan[str] = gochan.Chan()
quiet, _peer = socket.socketpair()


def io_then_send() -> None:
    select.select([quiet], [], [], 0.5)  # waits on a socket nobody writes to
    time.sleep(0.5)
    ch.send("done")


threading.Thread(target=io_then_send).start()
print(ch.recv())
