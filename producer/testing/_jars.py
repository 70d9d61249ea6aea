"""Apache Kafka broker jars from Maven Central, fetched once with Maven and cached.

Cache: ``<project root>/.cache/kafka/<version>/libs`` when running from a source checkout,
else ``$XDG_CACHE_HOME/gochan-producer/kafka/<version>/libs`` (``~/.cache/...``).
``KAFKA_JARS_DIR`` overrides it: a directory of jars used as the classpath (fetched into if it
holds no Kafka jar yet). Two processes fetching at once are serialised by a file lock; the
fetch goes to a temporary directory renamed into place when complete, so a half-fetched
cache is never seen.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from ._errors import BrokerStartError, JarFetchError

log = logging.getLogger("producer.testing")

#: The Kafka release used by default: the newest 4.x on Maven Central when this was written.
KAFKA_VERSION = "4.4.0"
_PACKAGE_NAME = "gochan-producer"
_MVN_TIMEOUT = 900.0


def _pom_text() -> str:
    return resources.files(__package__ or "producer.testing").joinpath("pom.xml").read_text()


def log4j_config_text() -> str:
    """The log4j2 configuration the broker JVMs use (console at INFO, to the node's log)."""
    return (resources.files(__package__ or "producer.testing")
            .joinpath("log4j2.properties").read_text())


def project_root() -> Path | None:
    """The source checkout this package runs from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text()
            except OSError:
                return None
            if re.search(rf'^name\s*=\s*"{re.escape(_PACKAGE_NAME)}"', text, re.M):
                return parent
            return None
    return None


def cache_root() -> Path:
    """Where fetched Kafka versions are kept (one sub-directory per version)."""
    root = project_root()
    if root is not None:
        return root / ".cache" / "kafka"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / _PACKAGE_NAME / "kafka"


def _has_kafka_jars(libs: Path) -> bool:
    return libs.is_dir() and any(libs.glob("kafka_2.13-*.jar"))


_java_versions: dict[str, str] = {}


def java_version(java: str) -> str:
    """The output of ``java -version`` (cached per executable)."""
    if java not in _java_versions:
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrokerStartError(f"cannot run {java} -version: {exc}") from exc
        _java_versions[java] = out.stderr + out.stdout
    return _java_versions[java]


def find_java() -> str:
    """Path of a ``java`` executable (``$JAVA_HOME/bin/java`` first), checked to be 17+."""
    java_home = os.environ.get("JAVA_HOME")
    java = None
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        java = str(Path(java_home) / "bin" / "java")
    java = java or shutil.which("java")
    if java is None:
        raise BrokerStartError(
            "java not found (no $JAVA_HOME/bin/java, no java on PATH): the local Kafka 4.x "
            "broker needs Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`), or set "
            "KAFKA_BOOTSTRAP_SERVERS to use a running cluster")
    version = java_version(java)
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version)
    if m:
        major = int(m.group(1))
        if major == 1 and m.group(2):
            major = int(m.group(2))
        if major < 17:
            raise BrokerStartError(
                f"{java} is Java {major}; Kafka 4.x needs Java 17+ (set JAVA_HOME to a newer JDK)")
    return java


def _find_mvn() -> str:
    mvn = find_mvn()
    if mvn is None:
        raise JarFetchError(
            "mvn not found on PATH: Maven 3.6+ is needed once, to fetch the Kafka broker jars "
            "from Maven Central (e.g. `apt-get install maven`). Alternatives: set KAFKA_JARS_DIR "
            "to a directory holding the Kafka 4.x jars (e.g. the libs/ of a Kafka tarball), or "
            "KAFKA_BOOTSTRAP_SERVERS to a running cluster")
    return mvn


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _explain_mvn_failure(output: str) -> str:
    network = re.search(r"UnknownHost|Connection refused|timed out|Could not transfer|"
                        r"Network is unreachable|No route to host|Connect to .* failed",
                        output, re.I)
    hint = ("Maven Central looks unreachable (check the network / proxy settings in "
            "~/.m2/settings.xml)" if network else "Maven failed")
    tail = "\n".join(output.strip().splitlines()[-25:])
    return f"{hint}; last lines of its output:\n{tail}"


def _run_maven(pom_dir: Path, libs: Path, version: str) -> None:
    mvn = _find_mvn()
    cmd = [mvn, "-B", "-q", "-f", str(pom_dir / "pom.xml"), f"-Dkafka.version={version}",
           "dependency:copy-dependencies", f"-DoutputDirectory={libs}",
           "-DincludeScope=runtime"]
    log.info("fetching Apache Kafka %s jars with Maven (first use only): %s", version,
             " ".join(cmd))
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=pom_dir, capture_output=True, text=True,
                              timeout=_MVN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise JarFetchError(f"Maven did not finish within {_MVN_TIMEOUT:.0f} s; Maven Central "
                            "unreachable or very slow?") from exc
    if proc.returncode != 0:
        raise JarFetchError(f"fetching the Kafka {version} jars failed (exit "
                            f"{proc.returncode}): " + _explain_mvn_failure(
                                proc.stdout + proc.stderr))
    if not _has_kafka_jars(libs):
        raise JarFetchError(f"Maven succeeded but {libs} has no kafka_2.13 jar")
    log.info("fetched %d jars in %.1f s", len(list(libs.glob("*.jar"))),
             time.monotonic() - t0)


def _fetch(final: Path, libs_name: str | None, version: str, pom: str) -> None:
    """Fetch into a temporary sibling of ``final`` and rename it into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    tmp.chmod(0o755)
    try:
        (tmp / "pom.xml").write_text(pom)
        libs = tmp / libs_name if libs_name else tmp
        _run_maven(tmp, libs, version)
        (tmp / ".pom-sha256").write_text(hashlib.sha256(pom.encode()).hexdigest())
        if libs_name is None:  # the KAFKA_JARS_DIR case: keep only jars
            for extra in ("pom.xml", "target"):
                p = tmp / extra
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        stale = None
        if final.exists() and any(final.iterdir()):
            stale = final.with_name(f".{final.name}.stale-{os.getpid()}-{time.time_ns()}")
            final.rename(stale)
        os.rename(tmp, final)  # atomic; replaces an empty directory too
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_kafka_jars(version: str = KAFKA_VERSION) -> Path:
    """Return a directory of Kafka broker jars (``<dir>/*`` is the classpath), fetching once."""
    pom = _pom_text()
    override = os.environ.get("KAFKA_JARS_DIR")
    if override:
        libs = Path(override).expanduser().resolve()
        if _has_kafka_jars(libs):
            return libs
        with file_lock(libs.with_name(f".{libs.name}.lock")):
            if not _has_kafka_jars(libs):
                _fetch(libs, None, version, pom)
        return libs

    final = cache_root() / version
    libs = final / "libs"
    if _fresh(final, pom):
        return libs
    with file_lock(final.with_name(f".{version}.lock")):
        if not _fresh(final, pom):  # another process may have fetched it while we waited
            _fetch(final, "libs", version, pom)
    return libs


def _fresh(final: Path, pom: str) -> bool:
    """Whether ``final/libs`` holds the jars of this ``pom`` (its digest is stamped there)."""
    stamp = final / ".pom-sha256"
    return (_has_kafka_jars(final / "libs") and stamp.is_file()
            and stamp.read_text().strip() == hashlib.sha256(pom.encode()).hexdigest())


def cached_kafka_jars(version: str = KAFKA_VERSION) -> Path | None:
    """The jars ``ensure_kafka_jars(version)`` would return without Maven, or None."""
    override = os.environ.get("KAFKA_JARS_DIR")
    if override:
        libs = Path(override).expanduser().resolve()
        return libs if _has_kafka_jars(libs) else None
    final = cache_root() / version
    return final / "libs" if _fresh(final, _pom_text()) else None


def find_mvn() -> str | None:
    """The ``mvn`` on PATH, or None."""
    return shutil.which("mvn")
