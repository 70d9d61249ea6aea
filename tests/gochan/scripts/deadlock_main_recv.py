"""The main thread receives from a channel nobody will ever send on."""

import gochan

ch: gochan.Chan[int] = gochan.Chan(4)
ch.recv()  # @main
print("unreachable")
