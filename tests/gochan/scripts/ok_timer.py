"""Looks stuck for a second, is not: main waits on a pending timer."""

import gochan

fired = gochan.after(0.6).recv()
i, _ = gochan.select(gochan.Chan[int]().recv, gochan.after(0.6).recv)
print("fired", fired is not None, "case", i)
