"""Go's classic: a worker ranges over a channel main forgot to close; main waits on the group."""

import gochan

jobs: gochan.Chan[int] = gochan.Chan(8)
wg = gochan.WaitGroup()


def worker() -> None:
    try:
        for job in jobs:  # @worker
            print("job", job)
    finally:
        wg.done()


wg.add(1)
gochan.go(worker)  # @go
jobs.send(1)
wg.wait()  # @main
print("unreachable")
