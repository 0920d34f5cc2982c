"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl start/stop.

Needs Debian's ``postgresql`` package (``scripts/system-deps.sh`` installs it); the fixture
skips with that hint when ``initdb`` is absent. As root, the server runs as the unprivileged
``postgres`` user (or ``nobody``) through ``runuser``, in a temp dir owned by that user. The
server listens on a free local TCP port with ``trust`` authentication, for user ``test``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> tuple[list[str], int | None, int | None]:
    """Command prefix to run the server unprivileged, and the uid/gid owning its files."""
    if os.geteuid() != 0:
        return [], None, None
    for user in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"], pw.pw_uid, pw.pw_gid
    pytest.skip("running as root and no unprivileged user (postgres/nobody) to run PostgreSQL")


@pytest.fixture(scope="session")
def pg_url():
    """``postgresql://test@127.0.0.1:PORT/postgres`` of a fresh cluster, stopped after the session."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (initdb not found): run scripts/system-deps.sh")
    prefix, uid, gid = _runner()
    base = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data, sockets, logfile = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if uid is not None:
        for path in (base, sockets):
            os.chown(path, uid, gid)
    port = _free_port()

    def pg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)

    init = pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "test", "-E", "UTF8", "--no-locale")
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr}")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = pg(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options, "-w", "start")
    if start.returncode != 0:
        log = logfile.read_text() if logfile.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {start.stderr}\n{log}")
    try:
        yield f"postgresql://test@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_database(pg_url, request):
    """A fresh, empty database for one test; yields its URL."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(pg_url.replace("postgresql://", "postgresql://", 1), autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
