"""A user's program: Ctrl-C while send_message waits during an outage, Ctrl-C again while
close() waits. Run by test_producer_interrupt.py, which freezes the broker and sends the
two SIGINTs; argv: bootstrap topic."""

from __future__ import annotations

import logging
import sys
import threading
import time

from producer import ProducerMessage, SyncProducer

logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="log: %(levelname)s %(name)s: %(message)s")
logging.getLogger("kafka").setLevel(logging.CRITICAL)
bootstrap, topic = sys.argv[1], sys.argv[2]
baseline = {t.ident for t in threading.enumerate()}
started = 0.0
outage = ProducerMessage(topic, value=b"during the outage")
try:
    with SyncProducer(bootstrap) as p:
        p.send_message(ProducerMessage(topic, value=b"warm"))
        print("ready", flush=True)  # the test freezes the broker now
        sys.stdin.readline()
        started = time.monotonic()
        p.send_message(outage)
        print("delivered?!", flush=True)
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.1f}s", flush=True)
deadline = time.monotonic() + 5
left = [t for t in threading.enumerate() if t.ident not in baseline]
while left and time.monotonic() < deadline:
    time.sleep(0.05)
    left = [t for t in threading.enumerate() if t.ident not in baseline and t.is_alive()]
print(f"threads left: {sorted(t.name for t in left)}", flush=True)
# Failed by the abandon: released, so the same object may be sent again.
print(f"released: {outage._owner is None and outage._reply is None}", flush=True)
