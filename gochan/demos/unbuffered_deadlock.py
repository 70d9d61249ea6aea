"""A send on an unbuffered channel that nobody receives: caught by the deadlock report.

Chan() is unbuffered: a send completes only when a receiver takes the value (a
rendezvous). broken() sends first and would receive after, in the same thread, so
its send can never complete. Go's runtime notices that every goroutine is asleep and
stops with "all goroutines are asleep - deadlock!"; gochan does the same: once every
thread is parked in gochan with no timeout, timer or signal handler left to wake it,
the main thread's blocked call raises gochan.Deadlock, whose message lists each
thread, what it waits on and where. Fix: receive in another goroutine (or give the
channel a buffer, so the send does not wait for a receiver).
"""

from __future__ import annotations

from gochan import Chan, go

from ._lesson import indented, run_in_subprocess


def broken() -> None:
    """The mistake: a send with no receiver. Never prints."""
    ch: Chan[str] = Chan()  # make(chan string): unbuffered
    ch.send("hello")  # waits for a receiver; the only one is the next line
    print(ch.recv())


def fixed() -> str | None:
    """The same exchange with the sender in its own goroutine: the rendezvous happens."""
    ch: Chan[str] = Chan()
    go(ch.send, "hello")  # go func() { ch <- "hello" }()
    return ch.recv()


def run() -> int:
    print("broken() in its own interpreter (python -c ...):")
    lesson = run_in_subprocess(__name__, "broken")
    print(indented(lesson.stderr_from("gochan.Deadlock")))
    print(f"exit status {lesson.returncode} after {lesson.seconds:.1f}s: the program ended "
          "with a diagnosis instead of hanging")
    got = fixed()
    print(f"fixed(): received {got!r} from a sender goroutine")
    caught = lesson.returncode == 1 and "all goroutines are asleep - deadlock!" in lesson.stderr
    return 0 if caught and got == "hello" else 1
