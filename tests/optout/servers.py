"""Real servers on loopback for the verification tests: git over smart HTTP, a fake forge.

- ``GitServer`` runs ``git http-backend`` (the CGI program real git hosts use) behind a
  tiny threaded HTTP server, serving bare repositories the tests create.
- ``FakeForge`` answers fixed routes (JSON APIs, redirects) and records what it was asked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT = shutil.which("git") or "git"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Owner",
    "GIT_AUTHOR_EMAIL": "owner@example.org",
    "GIT_COMMITTER_NAME": "Owner",
    "GIT_COMMITTER_EMAIL": "owner@example.org",
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin",
}

Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.requests.append((self.command, self.path))
        gate = self.server.owner.gate
        if gate is not None:  # the test holds answers back until it has read its own
            gate.wait(60)
        status, headers, payload = self.server.owner.answer(self, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early (size and time limits) is expected here


@dataclass
class LoopbackServer:
    requests: list[tuple[str, str]] = field(default_factory=list)
    # While set to an unset Event, every answer waits for it (makes "still running" certain).
    gate: threading.Event | None = None

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError


@dataclass
class FakeForge(LoopbackServer):
    routes: dict[str, Route | tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    def json(self, path: str, payload: object, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.routes[path] = (status, {"Content-Type": "application/json"}, body)

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict, bytes]:
        path = urlsplit(handler.path).path
        route = self.routes.get(path)
        if route is None:
            return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
        return route(handler, body) if callable(route) else route


@dataclass
class GitServer(LoopbackServer):
    root: Path = Path()

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(handler.path)
        env = {
            **_GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": handler.command,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        done = subprocess.run(
            [GIT, "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        status = 200
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        if not done.stdout:
            return 500, {}, done.stderr
        return status, headers, payload

    def create_repository(
        self, path: str, files: dict[str, str] | None = None, *, branch: str = "main"
    ) -> Path:
        """A bare repository at ``root/path.git`` holding ``files`` in one commit (none: empty)."""
        bare = self.root / f"{path}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        if files is None:
            self._git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare))
            return bare
        work = self.root / ".work" / re.sub(r"\W", "_", path)
        self._git("init", "--quiet", f"--initial-branch={branch}", str(work))
        for name, content in files.items():
            (work / name).write_text(content)
        self._git("-C", str(work), "add", "--all")
        self._git("-C", str(work), "commit", "--quiet", "-m", "files")
        self._git("clone", "--quiet", "--bare", str(work), str(bare))
        self._git("--git-dir", str(bare), "config", "uploadpack.allowFilter", "true")
        return bare

    @staticmethod
    def _git(*args: str) -> None:
        subprocess.run([GIT, *args], env=_GIT_ENV, check=True, capture_output=True)


def head_commit(bare: Path) -> str:
    """The commit HEAD of the bare repository ``bare`` points at."""
    return subprocess.run(
        [GIT, "--git-dir", str(bare), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


__all__ = ["FakeForge", "GitServer", "head_commit"]
