import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.public_store import public_root
from registry.tokens import token_create


@pytest.fixture
def token(db) -> str:
    _, key = token_create(name="pipeline", scopes=["registry:read"])
    return key


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


@pytest.fixture
def static_host(tmp_path) -> Iterator[tuple[str, Path]]:
    """``python -m http.server`` over the public store: a plain static host. Yields its
    address and the file its access log goes to."""
    root = Path(public_root())
    root.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    access_log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=access_log.open("w"),
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("python -m http.server did not start")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", access_log
    finally:
        server.terminate()
        server.wait(timeout=10)
