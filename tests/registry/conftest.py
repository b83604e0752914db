"""Every registry test runs twice: on the embedded SQLite database and on a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bmts.registry import Registry
from bmts.storage.database import create_engine, migrate


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _start_throwaway_server() -> tuple[str, list[str]] | None:
    """initdb + pg_ctl a private cluster when the machine runs no PostgreSQL but has its binaries."""
    candidates = (
        sorted(Path("/usr/lib/postgresql").glob("*/bin")) if Path("/usr/lib/postgresql").exists() else []
    )
    bindir = next((b for b in reversed(candidates) if (b / "initdb").exists()), None)
    if bindir is None and shutil.which("initdb"):
        bindir = Path(shutil.which("initdb") or "").parent
    if bindir is None:
        return None
    data = Path(tempfile.mkdtemp(prefix="bmts-pg-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    user = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if user:
        shutil.chown(data, "postgres")
    subprocess.run(
        [*user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    start = [
        *user,
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(data / "server.log"),
        "-o",
        f"-p {port} -k {data}",
        "-w",
        "start",
    ]
    # the server inherits stdout/stderr: never capture them, or this call waits for the server to exit
    subprocess.run(start, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = [*user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("BMTS_TEST_POSTGRES_URL")
    started = None
    if url is None:
        if _reachable("127.0.0.1", 5432):
            url = "postgresql://postgres@127.0.0.1:5432/postgres"
        else:
            started = _start_throwaway_server()
            if started is None:
                if os.environ.get("BMTS_REQUIRE_POSTGRES"):
                    pytest.fail(
                        "BMTS_REQUIRE_POSTGRES is set but no PostgreSQL server could be reached or started"
                    )
                pytest.skip("no PostgreSQL server running and no PostgreSQL binaries to start one")
            url = started[0]
    admin = create_engine(url)
    name = f"bmts_test_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    if started is not None:
        subprocess.run(started[1], capture_output=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    else:
        base = request.getfixturevalue("postgres_url")
        eng = create_engine(base)
        with eng.begin() as con:  # a fresh schema per test
            schema = f"t_{uuid.uuid4().hex[:10]}"
            con.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        eng = sa.create_engine(create_engine(base).url, connect_args={"options": f"-csearch_path={schema}"})
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def registry(engine: sa.Engine) -> Registry:
    return Registry(engine)
