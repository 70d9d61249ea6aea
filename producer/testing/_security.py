"""Secured listeners for local test clusters: TLS material, SASL users, ACLs.

``local_kafka(security="SASL_SSL")`` (or ``"SSL"``, ``"SASL_PLAINTEXT"``) serves its
clients on one listener of that protocol:

- TLS: a throwaway CA and a server certificate for ``127.0.0.1`` made by ``trustme``
  when the cluster starts (PEM key store and trust store, no ``keytool``); the CA is
  ``cluster.ca_file``.
- SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER enabled. Users ``admin``
  (a super user) and ``alice`` with random passwords (``cluster.users``); their SCRAM
  credentials are written at format time (``StorageTool format --add-scram``).
  OAUTHBEARER uses Kafka's unsecured JWS validator: any ``alg: none`` token whose
  ``sub`` names the user and whose ``exp`` is in the future (:func:`unsecured_token`).
  ``connections.max.reauth.ms`` is on, so a connection re-authenticates before its
  token expires (KIP-368).
- Authorization: the StandardAuthorizer. ``admin`` may do anything; ``alice`` may only
  write to and describe topics whose names start with ``alice-``.

The controller listener stays PLAINTEXT on loopback, and its (ANONYMOUS) principal is a
super user, as is ANONYMOUS on an ``SSL`` cluster, where no client has a name.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import KafkaHarnessError

__all__ = ["ALICE_TOPIC_PREFIX", "SASL_MECHANISMS", "SECURITY_PROTOCOLS", "ClusterSecurity",
           "unsecured_token"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
#: ``alice`` may write to (and describe) topics whose names start with this.
ALICE_TOPIC_PREFIX = "alice-"
#: How long a broker lets a SASL session live before it must re-authenticate.
REAUTH_MS = 300_000

_SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_JAAS = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "OAUTHBEARER": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule",
}


def check_protocol(security: str) -> str:
    """``security`` upper-cased, if it is one of :data:`SECURITY_PROTOCOLS`."""
    name = str(security).upper()
    if name not in SECURITY_PROTOCOLS:
        raise ValueError(f"security must be one of {SECURITY_PROTOCOLS}, not {security!r}")
    return name


def unsecured_token(user: str, lifetime: float = 3600.0, *, now: float | None = None) -> str:
    """An unsigned (``alg: none``) JWT for ``user`` expiring ``lifetime`` seconds from now
    (negative: already expired), as Kafka's unsecured OAUTHBEARER validator accepts.
    For test brokers only: anyone can mint one."""
    issued = time.time() if now is None else now

    def part(obj: Mapping[str, object]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {"sub": user, "iat": int(issued), "exp": int(issued + lifetime)}
    return f"{part({'alg': 'none'})}.{part(claims)}."


class ClusterSecurity:
    """What a cluster with ``protocol`` listeners needs: files, broker settings, users."""

    def __init__(self, protocol: str) -> None:
        self.protocol = check_protocol(protocol)
        self.tls = self.protocol in ("SSL", "SASL_SSL")
        self.sasl = self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")
        #: name -> password (random per cluster); empty without SASL.
        self.users: dict[str, str] = (
            {"admin": secrets.token_urlsafe(18), "alice": secrets.token_urlsafe(18)}
            if self.sasl else {})
        self.ca_file: Path | None = None
        self._server_pem: Path | None = None

    @property
    def listener(self) -> str:
        """The name of the client listener (the protocol's own name)."""
        return self.protocol

    def write_files(self, directory: Path) -> None:
        """Make the CA and the server certificate (for 127.0.0.1) under ``directory``."""
        if not self.tls:
            return
        try:
            import trustme
            from cryptography.hazmat.primitives.serialization import (
                Encoding,
                NoEncryption,
                PrivateFormat,
                load_pem_private_key,
            )
        except ImportError as exc:
            raise KafkaHarnessError(
                f"a TLS test cluster needs trustme to make its certificates ({exc}): "
                "pip install trustme (it is in this project's dev extra)") from exc
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="producer.testing")
        cert = ca.issue_cert("127.0.0.1")
        # Kafka's PEM key store wants an unencrypted PKCS#8 key, trustme writes PKCS#1/SEC1.
        key = load_pem_private_key(cert.private_key_pem.bytes(), None)
        pkcs8 = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        self.ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._server_pem = directory / "server.pem"
        self._server_pem.write_bytes(
            pkcs8 + b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        self._server_pem.chmod(0o600)

    def broker_properties(self, port: int, controller_port: int, host: str) -> dict[str, str]:
        """server.properties entries replacing the PLAINTEXT listener settings."""
        name = self.listener
        props = {
            "listeners": f"{name}://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"{name}://{host}:{port}",
            "inter.broker.listener.name": name,
            "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{name}:{self.protocol}",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:admin;User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }
        if self.tls:
            assert self.ca_file is not None and self._server_pem is not None
            props.update({
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(self._server_pem),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(self.ca_file),
                "ssl.client.auth": "none",
            })
        if self.sasl:
            prefix = f"listener.name.{name.lower()}."
            admin = self.users["admin"]
            plain_users = " ".join(f'user_{u}="{p}"' for u, p in self.users.items())
            props.update({
                "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
                "sasl.mechanism.inter.broker.protocol": "PLAIN",
                "connections.max.reauth.ms": str(REAUTH_MS),
                prefix + "plain.sasl.jaas.config":
                    f'{_JAAS["PLAIN"]} required username="admin" password="{admin}" '
                    f"{plain_users};",
                prefix + "scram-sha-256.sasl.jaas.config": f"{_JAAS['SCRAM']} required;",
                prefix + "scram-sha-512.sasl.jaas.config": f"{_JAAS['SCRAM']} required;",
                prefix + "oauthbearer.sasl.jaas.config":
                    f'{_JAAS["OAUTHBEARER"]} required unsecuredLoginStringClaim_sub="admin";',
            })
        return props

    def format_args(self) -> list[str]:
        """``StorageTool format`` arguments creating the SCRAM credentials of every user."""
        args: list[str] = []
        for mechanism in _SCRAM if self.sasl else ():
            for user, password in self.users.items():
                args += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
        return args

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this cluster's CA (and checks the host name)."""
        if self.ca_file is None:
            raise KafkaHarnessError(f"a {self.protocol} cluster has no TLS")
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client_configs(self, user: str = "admin") -> dict[str, Any]:
        """kafka-python client settings to connect as ``user`` (PLAIN over SASL)."""
        configs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            configs["ssl_context"] = self.ssl_context()
        if self.sasl:
            configs.update(sasl_mechanism="PLAIN", sasl_plain_username=user,
                           sasl_plain_password=self.users[user])
        return configs

    def grant_acls(self, admin: Any) -> None:
        """Let ``alice`` write to and describe the topics starting with ``alice-``."""
        if not self.sasl:
            return
        from kafka.admin import (
            ACL,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePattern,
            ResourceType,
        )

        pattern = ResourcePattern(ResourceType.TOPIC, ALICE_TOPIC_PREFIX,
                                  ACLResourcePatternType.PREFIXED)
        acls = [ACL("User:alice", "*", op, ACLPermissionType.ALLOW, pattern)
                for op in (ACLOperation.WRITE, ACLOperation.DESCRIBE, ACLOperation.CREATE)]
        result = admin.create_acls(acls)
        failed = result.get("failed") if isinstance(result, dict) else None
        if failed:
            raise KafkaHarnessError(f"creating the test ACLs failed: {failed}")
