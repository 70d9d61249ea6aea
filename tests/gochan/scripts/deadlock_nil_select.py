"""Selects that can never proceed: nil channels only, and no cases at all."""

import gochan


def no_cases() -> None:
    gochan.select()  # @nocases


def nil_recv() -> None:
    gochan.nilchan.recv()  # @nilrecv


gochan.go(no_cases)
gochan.go(nil_recv)
gochan.select(gochan.nilchan.recv, (gochan.nilchan.send, 1))  # @main
print("unreachable")
