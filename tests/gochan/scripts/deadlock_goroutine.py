"""A goroutine waits for a value nobody sends, while main waits for the goroutine."""

import gochan

requests: gochan.Chan[str] = gochan.Chan()
done: gochan.Chan[None] = gochan.Chan()


def serve() -> None:
    request = requests.recv()  # @worker
    print("serving", request)
    done.send(None)


gochan.go(serve)  # @go
done.recv()  # @main
print("unreachable")
