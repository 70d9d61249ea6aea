"""Keep SASL credentials out of kafka-python's log records.

At DEBUG kafka-python logs every request it sends, the SaslAuthenticate one
included, both as an object (``auth_bytes=b'user\\x00user\\x00password'``, or the
OAUTHBEARER token) and as raw bytes. A :class:`logging.Filter` on each ``kafka.*``
logger rewrites such records before any handler sees them: SaslAuthenticate
payloads are blanked, and every registered secret (each password handed to a
client, each token a token provider returned) is replaced wherever it appears.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque

__all__ = ["install", "register"]

REDACTED = "[redacted]"
_AUTH_BYTES = re.compile(r"(auth_bytes=)(b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\")")

_lock = threading.Lock()
# Recent tokens and every password (a token provider's output rotates: keep the last ones).
_secrets: deque[str] = deque(maxlen=256)
_installed: set[str] = set()


def register(secret: str) -> None:
    """Redact ``secret`` (a password or token) from kafka-python's log records."""
    if not secret:
        return
    with _lock:
        if secret not in _secrets:
            _secrets.append(secret)


def _forms(secret: str) -> list[str]:
    """``secret`` as it may appear in a message: as is, and inside a bytes repr."""
    as_bytes = repr(secret.encode())[2:-1]
    return [secret] if as_bytes == secret else [secret, as_bytes]


def scrub(text: str) -> str:
    """``text`` without SaslAuthenticate payloads or registered secrets."""
    out = _AUTH_BYTES.sub(lambda m: m.group(1) + REDACTED, text)
    with _lock:
        secrets = list(_secrets)
    for secret in secrets:
        for form in _forms(secret):
            if form in out:
                out = out.replace(form, REDACTED)
    return out


class _Redactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a broken record is the logging module's business
            return True
        clean = scrub(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_REDACTOR = _Redactor()


def install() -> None:
    """Put the redacting filter on every ``kafka`` logger that exists (kafka-python
    creates its loggers when its modules are imported; call this after that)."""
    names = [n for n in list(logging.root.manager.loggerDict)
             if n == "kafka" or n.startswith("kafka.")]
    with _lock:
        fresh = [n for n in names if n not in _installed]
        _installed.update(fresh)
    for name in fresh:
        logging.getLogger(name).addFilter(_REDACTOR)
