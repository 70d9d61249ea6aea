"""One look at a seed broker before the Kafka client bootstraps: do TLS and SASL match?

kafka-python retries a connection whose TLS handshake fails, or whose SASL mechanism
the broker lacks, until ``bootstrap_timeout_ms`` and then only reports "Unable to
bootstrap". sarama's dial reports the TLS or SASL error itself. So before the client
is built, :func:`check_security` opens one connection to the first seed broker that
accepts TCP and checks, in the broker's own protocol:

1. TLS: the handshake with ``net.tls.config`` (certificate trust, host name), or
   that a plaintext client is not talking to a TLS port;
2. an ``ApiVersions`` request is answered (the port speaks Kafka);
3. a ``SaslHandshake`` names the mechanisms the listener enables (none: not SASL);
4. with SASL, one authentication with kafka-python's own mechanism (PLAIN, SCRAM,
   OAUTHBEARER): kafka-python also retries a refused one until its bootstrap timeout.

A mismatch or refusal raises :class:`AuthenticationError` naming cause and fix, within
``net.dial_timeout``. Anything inconclusive (no broker listening, a timeout) is left
to the Kafka client, which retries as before. Messages never carry a credential.
kafka-python is imported for its SASL mechanisms only.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ._config import Config, SASLMechanism
from ._errors import AuthenticationError

__all__ = ["check_security", "default_ssl_context"]

_API_VERSIONS = 18
_SASL_HANDSHAKE = 17
_SASL_AUTHENTICATE = 36
_UNSUPPORTED_SASL_MECHANISM = 33
_ILLEGAL_SASL_STATE = 34
_TLS_RECORD_TYPES = (0x15, 0x16)  # alert, handshake: what a TLS port answers first


class _Inconclusive(Exception):
    """This address told us nothing: let the Kafka client try."""


def default_ssl_context() -> ssl.SSLContext:
    """``net.tls.config = None``: the system's CAs, host names checked."""
    return ssl.create_default_context()


def _split(addr: str) -> tuple[str, int]:
    host, _, port = addr.strip().rpartition(":")
    return host.strip("[]"), int(port)


def _request(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    client_id = b"producer-preflight"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("the broker closed the connection")
        data += chunk
    return data


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request``; the response after its size and correlation id."""
    sock.sendall(request)
    head = _recv_exact(sock, 4)
    if head[0] in _TLS_RECORD_TYPES and head[1] == 3:
        raise _SpeaksTLS()
    (size,) = struct.unpack(">i", head)
    if not 4 <= size <= 1 << 20:
        raise _Inconclusive(f"unexpected response size {size}")
    return _recv_exact(sock, size)[4:]


class _SpeaksTLS(Exception):
    """The port answered a Kafka request with a TLS record."""


def _sasl_handshake(sock: socket.socket, mechanism: str) -> tuple[int, list[str] | None]:
    """(error code, the listener's SASL mechanisms); None: it does not use SASL."""
    mech = mechanism.encode()
    body = struct.pack(">h", len(mech)) + mech
    resp = _exchange(sock, _request(_SASL_HANDSHAKE, 1, 2, body))
    (error,) = struct.unpack_from(">h", resp)
    if error == _ILLEGAL_SASL_STATE:
        return error, None
    (count,) = struct.unpack_from(">i", resp, 2)
    names, pos = [], 6
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from(">h", resp, pos)
        names.append(resp[pos + 2:pos + 2 + length].decode("utf-8", "replace"))
        pos += 2 + length
    return error, names


def _sasl_authenticate(sock: socket.socket, host: str, settings: Mapping[str, Any]) -> str | None:
    """Authenticate once with kafka-python's mechanism; the broker's refusal, or None."""
    from kafka.net.sasl import get_sasl_mechanism

    mechanism = get_sasl_mechanism(settings["sasl_mechanism"])(host=host, **settings)
    correlation = 3
    while not mechanism.is_done():
        try:
            token = mechanism.auth_bytes()
        except Exception as exc:  # the token provider failed (the adapter chains why)
            cause = exc.__cause__ or exc
            raise AuthenticationError(
                f"SASL {settings['sasl_mechanism']} to {host}: net.sasl.token_provider raised "
                f"{type(cause).__name__}: {cause}: fix the token provider") from None
        body = struct.pack(">i", len(token)) + token
        resp = _exchange(sock, _request(_SASL_AUTHENTICATE, 1, correlation, body))
        correlation += 1
        error, length = struct.unpack_from(">hh", resp)
        pos = 4
        message = ""
        if length >= 0:
            message = resp[pos:pos + length].decode("utf-8", "replace")
            pos += length
        if error != 0:
            return message or f"error code {error}"
        (size,) = struct.unpack_from(">i", resp, pos)
        mechanism.receive(resp[pos + 4:pos + 4 + max(size, 0)])
    if not mechanism.is_authenticated():
        return "the broker did not confirm the authentication"
    return None


def _tls_error(exc: ssl.SSLError, addr: str, host: str) -> AuthenticationError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        if "mismatch" in reason.lower():
            return AuthenticationError(
                f"TLS to {addr}: the broker's certificate is not valid for {host!r} "
                f"({reason}): connect with a host name the certificate lists, or have "
                "the broker's certificate issued for this name")
        return AuthenticationError(
            f"TLS to {addr}: the broker's certificate is not trusted ({reason}): give "
            "net.tls.config (sarama: Net.TLS.Config) an ssl.SSLContext that trusts the "
            "broker's CA, e.g. ssl.create_default_context(cafile='ca.pem')")
    return AuthenticationError(
        f"TLS to {addr} failed ({exc.reason or exc}): the port is probably not a TLS "
        "listener (PLAINTEXT or SASL_PLAINTEXT): set net.tls.enable (sarama: "
        "Net.TLS.Enable) = False, or use the broker's SSL/SASL_SSL port")


def _check_one(addr: str, config: Config, settings: Mapping[str, Any],
               deadline: float) -> None:
    host, port = _split(addr)
    tls, sasl = config.net.tls, config.net.sasl

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Inconclusive("net.dial_timeout elapsed")
        return remaining

    try:
        raw = socket.create_connection((host, port), timeout=left())
    except OSError as exc:
        raise _Inconclusive(str(exc)) from exc
    sock: socket.socket = raw
    try:
        if tls.enable:
            context = tls.config if tls.config is not None else default_ssl_context()
            raw.settimeout(left())
            try:
                sock = context.wrap_socket(raw, server_hostname=host)
            except ssl.SSLError as exc:
                raise _tls_error(exc, addr, host) from None
            except (ConnectionError, EOFError) as exc:
                raise AuthenticationError(
                    f"TLS to {addr}: the broker closed the connection during the handshake "
                    f"({exc}): the port is probably not a TLS listener: set net.tls.enable "
                    "(sarama: Net.TLS.Enable) = False, or use the broker's SSL/SASL_SSL "
                    "port") from None
        sock.settimeout(left())
        try:
            _exchange(sock, _request(_API_VERSIONS, 0, 1, b""))
        except _SpeaksTLS:
            raise AuthenticationError(
                f"{addr} answered with TLS: it is a TLS listener (SSL or SASL_SSL): set "
                "net.tls.enable (sarama: Net.TLS.Enable) = True") from None
        except (ConnectionError, EOFError) as exc:
            if tls.enable:
                raise _Inconclusive(str(exc)) from exc
            raise AuthenticationError(
                f"{addr} closed the connection without answering a Kafka request: it is "
                "probably a TLS listener (SSL or SASL_SSL): set net.tls.enable (sarama: "
                "Net.TLS.Enable) = True") from None
        except (OSError, struct.error) as exc:
            raise _Inconclusive(str(exc)) from exc
        # The port speaks Kafka. From here on only a clear answer is reported; a broker
        # that closes the connection instead (not Apache Kafka?) is left to the client.
        try:
            wanted = SASLMechanism(sasl.mechanism).value if sasl.enable else "PLAIN"
            error, mechanisms = _sasl_handshake(sock, wanted)
            _check_sasl(addr, config, error, mechanisms)
            refusal = (_sasl_authenticate(sock, host, settings)
                       if sasl.enable and error == 0 else None)
        except (_SpeaksTLS, OSError, EOFError, struct.error) as exc:
            raise _Inconclusive(str(exc)) from exc
    finally:
        sock.close()
    if refusal is not None:
        raise _refused(addr, config, refusal, settings)


def _check_sasl(addr: str, config: Config, error: int, mechanisms: list[str] | None) -> None:
    sasl = config.net.sasl
    if sasl.enable and mechanisms is None:
        raise AuthenticationError(
            f"{addr} is not a SASL listener: set net.sasl.enable (sarama: Net.SASL.Enable) "
            "= False, or use the broker's SASL_PLAINTEXT/SASL_SSL port")
    if not sasl.enable and mechanisms is not None:
        raise AuthenticationError(
            f"{addr} requires SASL authentication (it enables {mechanisms}): set "
            "net.sasl.enable (sarama: Net.SASL.Enable) = True with net.sasl.mechanism, "
            ".user and .password (or .token_provider)")
    if sasl.enable and mechanisms is not None and error == _UNSUPPORTED_SASL_MECHANISM:
        raise AuthenticationError(
            f"{addr} does not enable SASL mechanism {SASLMechanism(sasl.mechanism).value} "
            f"(it enables {mechanisms}): set net.sasl.mechanism (sarama: "
            "Net.SASL.Mechanism) to one of those")


def _refused(addr: str, config: Config, refusal: str,
             settings: Mapping[str, Any]) -> AuthenticationError:
    sasl = config.net.sasl
    mechanism = SASLMechanism(sasl.mechanism).value
    if mechanism == SASLMechanism.OAUTHBEARER.value:
        provider = settings.get("sasl_oauth_token_provider")
        expiry = getattr(provider, "last_expiry", None)
        if expiry is not None and expiry <= time.time():
            cause = (f"the token from net.sasl.token_provider expired "
                     f"{time.time() - expiry:.0f} s ago")
            fix = "net.sasl.token_provider must return a fresh token on every call"
        else:
            cause = "the broker rejected the token from net.sasl.token_provider"
            fix = ("net.sasl.token_provider (sarama: Net.SASL.TokenProvider) must return a "
                   "valid, unexpired token for a principal the broker knows")
        return AuthenticationError(f"SASL OAUTHBEARER authentication to {addr} failed: "
                                   f"{cause} ({refusal}): {fix}")
    return AuthenticationError(
        f"SASL {mechanism} authentication of user {sasl.user!r} to {addr} failed "
        f"({refusal}): check net.sasl.user and net.sasl.password (sarama: "
        f"Net.SASL.User/Password): the user must exist on the broker with {mechanism} "
        "credentials and that password")


def check_security(addrs: Sequence[str], config: Config, settings: Mapping[str, Any]) -> None:
    """Check TLS/SASL against the first seed broker that accepts a connection;
    ``settings`` are the Kafka client's (its SASL mechanism reads them).

    Raises:
        AuthenticationError: the broker's listener and ``config.net.tls``/``.sasl``
            do not match (the message names the cause and the fix).
    """
    deadline = time.monotonic() + config.net.dial_timeout
    for addr in addrs:
        try:
            _check_one(addr, config, settings, deadline)
            return
        except _Inconclusive:
            continue
