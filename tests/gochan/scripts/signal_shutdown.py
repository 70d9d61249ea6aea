"""Every thread waits on a channel, and a SIGTERM handler is what ends the wait.

Not a deadlock: the handler is a waker the detector cannot see as a thread (Go's
``signal.Notify``). The test sends SIGTERM once the script says ``ready``.
"""

import signal
import sys

import gochan

jobs: gochan.Chan[int] = gochan.Chan()
stop: gochan.Chan[None] = gochan.Chan()


def worker() -> None:
    for job in jobs:
        print("job", job)


signal.signal(signal.SIGTERM, lambda signum, frame: stop.close())
gochan.install_dump_handler()  # gochan's own handler wakes nobody; it does not count
gochan.go(worker)
print("ready", flush=True)
stop.recv()
jobs.close()
print("stopped", flush=True)
sys.exit(0)
