"""A worker blocked on a nil channel leaks; a done channel lets its parent stop it.

do_work() ranges over `strings` in a new goroutine. Handed nilchan (Go's nil channel,
whose receives block forever), the worker can never finish and nothing can stop it:
it leaks, holding its thread and all it references until the process exits. Go's
rule: whoever starts a goroutine must know how it will stop. gochan.verify_none()
(Uber's goleak) finds the leak and lists the goroutine, what it waits on and who
created it. The fix passes a `done` channel that the worker selects on next to its
work: closing `done` ends the worker, and its `terminated` channel says so.
"""

from __future__ import annotations

from gochan import Chan, after_func, go, goroutines, nilchan, select, verify_none

from ._lesson import indented, run_in_subprocess


def do_work(strings: Chan[str]) -> Chan[None]:
    """The leaky worker: stops only when `strings` is closed."""
    completed: Chan[None] = Chan()

    def worker() -> None:
        for s in strings:  # for s := range strings
            print(s)
        completed.close()

    go(worker)
    return completed


def leaky() -> None:
    """The mistake: do_work(nil). Nobody will ever close a nil channel."""
    do_work(nilchan)
    print("main: done (the worker is still there)")
    verify_none(timeout=0.5)  # goleak.VerifyNone(t): raises, listing the leaked goroutine


def do_work_until_done(done: Chan[None], strings: Chan[str]) -> Chan[None]:
    """The worker with a way out: it returns as soon as `done` is closed."""
    terminated: Chan[None] = Chan()

    def worker() -> None:
        try:
            while True:
                case, s = select(strings.recv, done.recv)
                if case == 1:  # case <-done: return
                    return
                print(s)
        finally:
            terminated.close()  # defer close(terminated)

    go(worker)
    return terminated


def fixed() -> None:
    """do_work_until_done(done, nil), cancelled after 0.2 s: nothing is left behind."""
    before = goroutines()
    done: Chan[None] = Chan()
    terminated = do_work_until_done(done, nilchan)
    after_func(0.2, done.close)  # time.AfterFunc(200*time.Millisecond, func() { close(done) })
    terminated.recv()
    print("main: the worker has terminated")
    verify_none(ignore=before)


def run() -> int:
    print("leaky() in its own interpreter (python -c ...):")
    lesson = run_in_subprocess(__name__, "leaky")
    print(indented(lesson.stdout + lesson.stderr_from("AssertionError: found")))
    leaked = "found unexpected goroutines" in lesson.stderr and "nil chan" in lesson.stderr
    print("fixed():")
    fixed()
    print("verify_none(): no goroutine left behind")
    return 0 if leaked else 1
