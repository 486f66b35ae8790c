"""Mixed load: every kind of traffic at once for 60 s against gunicorn, 1,000,000 exclusions.

Run with ``make bench`` (or ``.venv/bin/python bench/load.py``). On loopback, with the
production configuration that ``bench/api.py`` serves (production settings,
``gunicorn.conf.py``, PostgreSQL through PgBouncer in transaction pooling, its database of
1,000,000 exclusions, loaded once), it

1. seeds owner requests through the real service (their status links carry real tokens),
   a pipeline token, and warms the export files of the latest checkpoint;
2. runs one ``wrk`` per kind of traffic, all at once, for ``BENCH_LOAD_SECONDS`` (60): each
   connection paced to its kind's share of the offered rate (``--scale`` multiplies them),
   its requests cycled from a list (3,000 repositories, 1,000 proofs, the seeded owners'
   pages with the cookie their private link gave) or, for submissions, made unique by a
   counter (valid form posts with a CSRF token);
3. prints, per kind, requests per second, p50 and p99 latency and errors (a socket error, a
   status other than the one the kind expects), the CPU the server side spent (gunicorn,
   PostgreSQL, Redis, PgBouncer), the load generator's own CPU and the load average.

The target (issue 17): no errors at all, and p99 <= 150 ms on each authenticated read (the
checkpoint, proofs and export revalidations with a token). Export downloads are timed but
not held to it: a download of 1,000,000 entries lasts as long as its bytes take (the export
throughput target of ``bench/api.py``). Throttle rates and submission limits are raised so
they count but never refuse. It exits non-zero when any request failed.

wrk, not a Python generator: each kind needs its own latency distribution, which one wrk
per kind gives, and a Python generator would take a core of the two this host has.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import api  # noqa: E402
from bench.support import ensure_database, pgbouncer, server  # noqa: E402

SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
PORT = int(os.environ.get("BENCH_LOAD_PORT", "18941"))
QUEUE = "bench-load"  # the Celery queue anything queued here goes to; purged afterwards
ENV = {
    **api.ENV,
    "CELERY_QUEUE": QUEUE,
    # Submissions are counted against their limits, which never refuse here.
    "OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP": "1000000000",
    "OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL": "1000000000",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    # Pages name their static files through the manifest ``collectstatic`` writes, as in
    # production.
    "STATIC_ROOT": str(api.BENCH_DIR / "static"),
}
READ_P99_MS = 150.0
LOAD_DIR = api.BENCH_DIR / "load"


@dataclasses.dataclass
class Kind:
    """One kind of traffic: its requests (method, path, headers, body), offered rate and
    connections, and the status each answer must have."""

    name: str
    rate: float  # requests a second offered, all its connections together
    connections: int
    requests: list[tuple]
    expect: int = 200
    authenticated_read: bool = False  # held to READ_P99_MS
    submission: str | None = None  # a form body, UNIQUE replaced on every post
    read_body: bool = True  # counted by status in Lua (not for downloads: the bytes stay in C)

    def script(self, scale: float) -> Path:
        """The kind's wrk script: cycles its requests, each connection waiting its share."""
        pause_ms = int(1000 * self.connections / (self.rate * scale))
        listed = ",\n".join(
            f"{{{_lua(method)}, {_lua(path)}, {{{_lua_table(headers)}}}, {_lua(body)}}}"
            for method, path, headers, body in self.requests
        )
        lua = [
            f"local requests = {{\n{listed}\n}}",
            "local turn = 0\nlocal sent = 0\nstatuses = {}",
            "function init(args) turn = math.random(#requests); nonce = args[1] end",
            f"function delay() return {pause_ms} end",
            "function request()\n  turn = turn % #requests + 1\n  local r = requests[turn]",
        ]
        if self.submission:  # each post names repositories nobody has asked for yet
            lua.append(
                "  sent = sent + 1\n"
                "  local unique = nonce .. '-' .. tostring(turn) .. '-' .. tostring(sent)\n"
                f"  local body = string.gsub({json.dumps(self.submission)}, 'UNIQUE', unique)\n"
                "  return wrk.format(r[1], r[2], r[3], body)"
            )
        else:
            lua.append("  return wrk.format(r[1], r[2], r[3], r[4])")
        lua.append("end")
        if self.read_body:  # wrk hands bodies to Lua only when this is defined
            lua.append(
                "function response(status, headers, body)\n"
                "  statuses[status] = (statuses[status] or 0) + 1\nend"
            )
        lua.append(
            "local threads = {}\n"
            "function setup(thread) table.insert(threads, thread) end\n"
            "function done(summary, latency, requests)\n"
            "  for _, thread in ipairs(threads) do\n"
            "    for status, count in pairs(thread:get('statuses')) do\n"
            "      io.write(string.format('status %d %d\\n', status, count))\n"
            "    end\n  end\nend"
        )
        path = LOAD_DIR / f"{self.name.replace(' ', '-')}.lua"
        path.write_text("\n".join(lua) + "\n")
        return path


def _lua(value: str | None) -> str:
    """A Lua literal: these ASCII strings are written the same in JSON and in Lua."""
    if value is None:
        return "nil"
    assert value.isascii(), value
    return json.dumps(value)


def _lua_table(headers: dict[str, str]) -> str:
    return ", ".join(f"[{_lua(name)}] = {_lua(value)}" for name, value in headers.items())


def seed(count: int) -> list[tuple[str, str]]:
    """``count`` owner requests through the service; each one's status page and token."""
    from optout.links import status_page_path
    from optout.services import request_submit

    pages = []
    stamp = time.time_ns()
    for i in range(count):
        result = request_submit(
            lines=[f"github.com/load-seed-{stamp}-{i}/repo", f"github.com/load-seed-{stamp}-{i}"],
            contact_email=f"owner-{stamp}-{i}@example.org",
            reason="bench/load.py",
        )
        pages.append((status_page_path(result.request.public_id), result.status_token))
    return pages


def status_cookie(page: str, token: str) -> str:
    """The cookie an owner's browser holds after opening the private link: its token
    exchanged over HTTP, as the link's page does (``optout/status_cookie.py``)."""
    conn, response = api.request("GET", f"{page}?{urlencode({'token': token})}", {})
    response.read()
    conn.close()
    cookie = re.search(r"(optout_status=[^;]+)", response.getheader("Set-Cookie") or "")
    if response.status != 303 or cookie is None:
        raise SystemExit(f"{page}: the token was not exchanged for a cookie ({response.status})")
    return cookie.group(1)


def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn, response = api.request("GET", path, headers)
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def traffic(size: int, token: str, owners: list[tuple[str, str]]) -> list[Kind]:
    """The mix, with each kind's first request tried once (its status must be the one
    expected, so a broken setup fails here rather than as 60 s of errors)."""
    auth = {"Authorization": f"Api-Key {token}"}
    rng = random.Random(17)
    export = "/api/v1/exclusions/export?format=txt"
    gzip = {"Accept-Encoding": "gzip"}
    for headers in ({**auth}, {**auth, **gzip}):  # written to the export store once (cold)
        api.timed_export(export, headers)
    _, head, _ = get(export, {**auth, **gzip})
    etag = head["etag"]
    _, head, _ = get("/requests/new/", {})
    csrf = re.search(r"csrftoken=([^;]+)", head["set-cookie"]).group(1)  # type: ignore[union-attr]
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"}
    submission = (
        f"csrfmiddlewaretoken={csrf}&subjects={quote('github.com/load-UNIQUE/repo')}"
        f"&contact_email={quote('owner-UNIQUE@example.org')}&reason=bench"
    )
    bulk = "\n".join(path.split("=", 1)[1] for path in api.check_paths(size)[:1000])
    kinds = [
        Kind("single check", 200, 4, [("GET", p, {}, None) for p in api.check_paths(size)]),
        Kind("bulk check of 1,000", 2, 1,
             [("POST", "/api/v1/check", {**auth, "Content-Type": "text/plain"}, bulk)]),
        Kind("export 304 (ETag)", 50, 2,
             [("GET", export, {**auth, **gzip, "If-None-Match": etag}, None)], 304,
             authenticated_read=True),
        Kind("export download", 0.5, 1, [("GET", export, {**auth, **gzip}, None)],
             read_body=False),
        Kind("checkpoint", 20, 1, [("GET", "/api/v1/log/checkpoint", auth, None)],
             authenticated_read=True),
        Kind("inclusion proof", 20, 1,
             [("GET", f"/api/v1/log/proof/inclusion?index={rng.randrange(size)}&size={size}",
               auth, None) for _ in range(1000)], authenticated_read=True),
        Kind("consistency proof", 10, 1,
             [("GET", f"/api/v1/log/proof/consistency?first={rng.randrange(1, size)}"
               f"&second={size}", auth, None) for _ in range(1000)], authenticated_read=True),
        Kind("owner status page", 20, 2,
             [("GET", page, {"Cookie": status_cookie(page, secret)}, None)
              for page, secret in owners]),
        Kind("submission", 5, 1, [("POST", "/requests/new/", form, None)], 201,
             submission=submission),
    ]  # fmt: skip
    # Twice per worker, untimed: each gunicorn process pays once for its first page
    # (templates compiled, imports), and requests land on any of them.
    for kind in kinds:
        for turn in range(2 * int(api._gunicorn_config()["workers"])):
            method, path, headers, body = kind.requests[turn % len(kind.requests)]
            if kind.submission:
                body = kind.submission.replace("UNIQUE", f"warm-{time.time_ns()}")
            conn, response = api.request(method, path, headers, body.encode() if body else None)
            response.read()
            conn.close()
            if response.status != kind.expect:
                raise SystemExit(f"{kind.name}: {method} {path} answered {response.status}, "
                                 f"not {kind.expect}")  # fmt: skip
    return kinds


def run(kinds: list[Kind], scale: float) -> dict[str, dict]:
    """Every kind's wrk at once; each one's figures parsed from its report."""
    nonce = str(time.time_ns())
    command = ["wrk", "-t1", f"-d{SECONDS}s", "--timeout", "10s", "--latency"]
    target = [f"http://127.0.0.1:{PORT}", "--", nonce]
    running = {}
    for kind in kinds:
        script = ["-c", str(kind.connections), "-s", str(kind.script(scale))]
        running[kind.name] = subprocess.Popen(
            [*command, *script, *target],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    results = {}
    for kind in kinds:
        out = running[kind.name].communicate()[0]
        if running[kind.name].returncode != 0:
            raise SystemExit(f"wrk failed for {kind.name}:\n{out}")
        found = re.search(r"(\d+) requests in", out)
        requests = int(found.group(1)) if found else 0
        socket_errors = sum(
            int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)
        )
        statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
        if kind.read_body:
            unexpected = sum(n for s, n in statuses.items() if s != kind.expect)
        else:
            found = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            unexpected = int(found.group(1)) if found else 0
        percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))$", out, re.M))
        results[kind.name] = {
            "requests": requests,
            "rps": requests / SECONDS,
            "p50": api._ms(percentiles["50"]) if "50" in percentiles else float("nan"),
            "p99": api._ms(percentiles["99"]) if "99" in percentiles else float("nan"),
            "errors": socket_errors + unexpected,
            "statuses": statuses,
        }
    return results


class ServerCpu(api.CpuMeter):
    """gunicorn and Redis as ``bench/api.py`` counts them, the PostgreSQL backends serving
    the bench's database (PgBouncer keeps them for the run; other sessions' backends come
    and go on this shared host, and would be counted or lost), and PgBouncer."""

    GROUPS = (*api.CpuMeter.GROUPS, "pgbouncer")

    def _processes(self):
        import psutil
        from django.db import connection

        found = super()._processes()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            ours = {pid for (pid,) in cursor.fetchall()}
        found["postgres"] = [p for p in found["postgres"] if p.pid in ours]
        found["pgbouncer"] = [
            p for p in psutil.process_iter(["name"]) if (p.info["name"] or "") == "pgbouncer"
        ]
        return found


def report(kinds: list[Kind], results: dict[str, dict], cpu: dict[str, float],
           wrk_cpu: float, load: tuple[float, float], scale: float) -> bool:  # fmt: skip
    total = sum(r["requests"] for r in results.values())
    print(f"\n== mixed load, {SECONDS} s, offered rates x{scale:g} (wrk, one a kind; "
          f"gunicorn.conf.py: {api._gunicorn_shape()})")  # fmt: skip
    print(f"{'kind':<22} {'offered':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    worst_read = 0.0
    errors = 0
    for kind in kinds:
        r = results[kind.name]
        errors += r["errors"]
        mark = ""
        if kind.authenticated_read:
            worst_read = max(worst_read, r["p99"])
            mark = "  (authenticated read)"
        print(f"{kind.name:<22} {kind.rate * scale:>9.1f} {r['rps']:>8.1f} {r['p50']:>8.1f} "
              f"{r['p99']:>8.1f} {r['errors']:>7}{mark}")  # fmt: skip
        if not r["requests"]:
            errors += 1  # a kind that sent nothing was not measured
            print(f"  {kind.name}: no request answered in {SECONDS} s")
    busy = sum(cpu.values())
    split = ", ".join(f"{group} {seconds:.1f}" for group, seconds in cpu.items())
    print(
        f"all: {total / SECONDS:,.0f} req/s; server CPU {busy:.1f} s of {2 * SECONDS} "
        f"({split}), {busy / total * 1e6:,.0f} us a request; wrk's own CPU {wrk_cpu:.1f} s"
    )
    print(f"load average {load[0]:.2f} before, {load[1]:.2f} after (1 min)")
    met = errors == 0 and worst_read <= READ_P99_MS
    print(
        f"target: 0 errors and authenticated reads p99 <= {READ_P99_MS:.0f} ms: "
        f"{errors} errors, worst p99 {worst_read:.1f} ms: {'met' if met else 'NOT met'}"
    )
    return errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument("--owners", type=int, default=50, help="owner requests to seed")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/load.py needs wrk: apt-get install wrk")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so gunicorn is stopped
    os.environ.update(ENV)
    LOAD_DIR.mkdir(parents=True, exist_ok=True)
    ensure_database(api.DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from registry.checkpoints import checkpoint_latest
    from registry.signing import write_new_signing_key
    from registry.tokens import token_create

    if not Path(ENV["LOG_SIGNING_KEY_FILE"]).exists():
        write_new_signing_key(Path(ENV["LOG_SIGNING_KEY_FILE"]))
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"== {api.ENTRIES:,} exclusions in {api.DATABASE_URL}")
    seconds = api.load(api.ENTRIES)
    print(f"  bulk load: {seconds:.1f} s" if seconds else "  already loaded")
    size = checkpoint_latest().size
    _, token = token_create(name="bench-load", scopes=["registry:read"])
    owners = seed(args.owners)
    try:
        with pgbouncer.running() as bouncer_port:
            served_from = re.sub(r":\d+/", f":{bouncer_port}/", api.DATABASE_URL)
            env = {**os.environ, **ENV, "DATABASE_URL": served_from}
            api.PORT = PORT  # bench/api.py's helpers talk to this server
            with server.gunicorn(
                "governance.wsgi:application", port=PORT, env=env, ready="/healthz"
            ) as gunicorn:
                kinds = traffic(size, token, owners)
                meter = ServerCpu(gunicorn.pid)
                before, load_before = meter.read(), os.getloadavg()[0]
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                results = run(kinds, args.scale)
                waited = resource.getrusage(resource.RUSAGE_CHILDREN)
                after, load_after = meter.read(), os.getloadavg()[0]
    finally:
        purge_queue()
    cpu = {group: after[group] - before[group] for group in after}
    wrk_cpu = (waited.ru_utime + waited.ru_stime) - (children.ru_utime + children.ru_stime)
    if not report(kinds, results, cpu, wrk_cpu, (load_before, load_after), args.scale):
        sys.exit(1)


def purge_queue() -> None:
    from governance.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(QUEUE)


if __name__ == "__main__":
    main()
