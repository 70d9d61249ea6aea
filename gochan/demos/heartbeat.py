"""A worker sends heartbeats; a supervisor restarts it when they stop.

A goroutine that hangs (a lost wake-up, a call that never returns) looks exactly like
one that is busy. So the worker sends a heartbeat after each piece of work, and the
supervisor selects on the heartbeats and a timer (Go's `select` on a `time.Timer`):
a beat resets the timer, silence past the timeout means the worker is stuck. The
supervisor then cancels the stuck worker's context (its `done` channel, so that it can
exit and does not leak) and starts a fresh one. Here workers 1 and 2 hang after
three jobs; worker 3 does all its jobs and closes the heartbeat channel to say so.
"""

from __future__ import annotations

import time

from gochan import Chan, Context, Timer, background, go, select, with_cancel

JOBS = 5
WORK = 0.02  # seconds per job
TIMEOUT = 0.5  # silence after which the supervisor gives up on a worker
HANGS_AFTER = {1: 3, 2: 3}  # worker number -> jobs done before it hangs
GRAPH_AFTER = 0.3  # --graph: drawn while worker 1 hangs (python -m gochan.demos)


def worker(ctx: Context, number: int, heartbeat: Chan[int]) -> None:
    """Does JOBS jobs, beating after each; closes `heartbeat` when all are done."""
    for job in range(1, JOBS + 1):
        time.sleep(WORK)  # the job
        case, _ = select((heartbeat.send, job), ctx.done().recv)  # beat, unless cancelled
        if case == 1:
            return
        if job == HANGS_AFTER.get(number):
            ctx.done().recv()  # stuck: silent until the supervisor gives up on us
            return
    heartbeat.close()


def watch(number: int, timer: Timer) -> bool:
    """Start worker `number` and follow its beats: True if it finished, False if it hung."""
    ctx, cancel = with_cancel(background())
    heartbeat: Chan[int] = Chan()
    print(f"supervisor: starting worker {number}")
    g = go(worker, ctx, number, heartbeat)
    try:
        while True:
            timer.reset(TIMEOUT)
            case, value = select(heartbeat.recv_ok, timer.c.recv)
            if case == 1:
                print(f"supervisor: no heartbeat from worker {number} for {TIMEOUT}s: "
                      "cancelling it")
                return False
            job, ok = value
            if not ok:
                print(f"supervisor: worker {number} finished all {JOBS} jobs")
                return True
            print(f"  worker {number}: beat after job {job}")
    finally:
        cancel()
        g.join()  # a cancelled worker exits: nothing leaks


def supervise() -> int:
    """Restarts the worker until one finishes; returns how many restarts it took."""
    timer = Timer(TIMEOUT)
    restarts = 0
    while not watch(restarts + 1, timer):
        restarts += 1
    timer.stop()
    return restarts


def run() -> int:
    restarts = supervise()
    print(f"{restarts} restarts; every worker has exited")
    return 0 if restarts == len(HANGS_AFTER) else 1
