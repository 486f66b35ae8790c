"""The only way the portal reaches out to a forge: an SSRF-safe HTTP client.

Rules, each enforced here rather than trusted to callers:

- URLs are built from a parsed identifier and the forge configuration (``forge_url``),
  never taken from what a person typed; ``fetch`` still re-checks every URL it is given.
- The origin (scheme, host, port) must be a configured forge's web or API base URL.
- https only. Plain http is allowed only to loopback, and only when the tests set
  ``OPTOUT_OUTBOUND_ALLOW_LOOPBACK``.
- The host is resolved once; every address must be public. Private, loopback (unless
  allowed), link-local, CGNAT, ULA, multicast, reserved, unspecified and IPv4-mapped
  addresses are refused. The connection goes to the address that was checked (no second
  lookup, so DNS rebinding cannot swap it), with the real host name for TLS and ``Host``.
- Redirects are followed only within the same origin, at most three.
- A time limit covers the whole fetch (DNS, connect, redirects, body) and the body is cut off
  at ``OPTOUT_OUTBOUND_MAX_BYTES``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings

from registry.forges import Forge, forges

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 ranges that carry an IPv4 address to a translator: NAT64, 6to4, Teredo.
_TRANSLATED = [
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
]
# getaddrinfo has no timeout of its own; lookups run here so the fetch's limit applies.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="optout-dns")
_REDIRECTS = {301, 302, 303, 307, 308}
_USER_AGENT = "dataset-optout-portal/1 (ownership verification)"


class OutboundRefused(Exception):
    """The fetch was refused by policy before any connection was made to the target."""


class OutboundError(Exception):
    """The forge could not be reached or answered badly (time, size, protocol)."""


@dataclass
class FetchResult:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    address: str
    elapsed_ms: int
    redirects: list[str] = field(default_factory=list)

    def evidence(self) -> dict[str, object]:
        return {
            "url": self.url,
            "status": self.status,
            "address": self.address,
            "bytes": len(self.body),
            "elapsed_ms": self.elapsed_ms,
            "redirects": self.redirects,
        }


def forge_url(forge: Forge, path: str, *, api: bool = False, query: str = "") -> str:
    """A URL on ``forge`` for ``path`` (already canonical segments), percent-quoted."""
    base = (forge.api_base_url if api else forge.web_base_url).rstrip("/")
    url = f"{base}/{quote(path.strip('/'), safe='/-._~')}"
    return f"{url}?{query}" if query else url


def forge_api_url(forge: Forge, *segments: str | int) -> str:
    """An API URL on ``forge``, each segment quoted whole (``acme/tool`` → ``acme%2Ftool``)."""
    quoted = "/".join(quote(str(segment), safe="") for segment in segments)
    return f"{forge.api_base_url.rstrip('/')}/{quoted}"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _allowed_origins() -> set[tuple[str, str, int]]:
    origins = set()
    for forge in forges().values():
        for base in (forge.web_base_url, forge.api_base_url):
            if base:
                origins.add(_origin(base))
    return origins


def address_problem(address: str) -> str | None:
    """Why the portal must not connect to ``address``, or ``None`` when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"{address} is an IPv4-mapped address"
    if ip.is_loopback:
        return None if settings.OPTOUT_OUTBOUND_ALLOW_LOOPBACK else f"{address} is loopback"
    if ip.version == 6 and any(ip in network for network in _TRANSLATED):
        return f"{address} is an IPv6 address that translates to IPv4"
    if ip.version == 4 and ip in _CGNAT:
        return f"{address} is a carrier-grade NAT address"
    for attribute, label in (
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attribute):
            return f"{address} is a {label} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def _check_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme, host, port = _origin(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundRefused(f"refused {url!r}: credentials in a URL")
    if scheme not in {"https", "http"}:
        raise OutboundRefused(f"refused {url!r}: only https is fetched")
    if scheme == "http" and not settings.OPTOUT_OUTBOUND_ALLOW_LOOPBACK:
        raise OutboundRefused(f"refused {url!r}: only https is fetched")
    if (scheme, host, port) not in _allowed_origins():
        raise OutboundRefused(f"refused {url!r}: {host}:{port} is not a configured forge")
    return scheme, host, port


def _resolve(host: str, port: int, *, plain_http: bool, deadline: float) -> str:
    lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise OutboundError(f"{host}: the DNS lookup took too long") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(
            f"{host} could not be found in DNS ({exc.__class__.__name__})"
        ) from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise OutboundError(f"{host} has no addresses")
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise OutboundRefused(f"refused {host}: {problem}")
        if plain_http and not ipaddress.ip_address(address).is_loopback:
            raise OutboundRefused(f"refused {host}: plain http is only allowed to loopback")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    follow_redirects: bool = True,
    max_bytes: int | None = None,
) -> FetchResult:
    """Fetch ``url`` from a configured forge under every rule in the module docstring."""
    max_bytes = max_bytes or settings.OPTOUT_OUTBOUND_MAX_BYTES
    started = time.monotonic()
    deadline = started + settings.OPTOUT_OUTBOUND_TIMEOUT_SECONDS
    redirects: list[str] = []
    while True:
        scheme, host, port = _check_url(url)
        address = _resolve(host, port, plain_http=scheme == "http", deadline=deadline)
        response_status, response_headers, content = _request_once(
            url, scheme, host, port, address, method, headers or {}, body, deadline, max_bytes
        )
        if response_status in _REDIRECTS and follow_redirects:
            location = response_headers.get("location", "")
            target = urljoin(url, location)
            if not location or _origin(target) != (scheme, host, port):
                raise OutboundRefused(
                    f"refused a redirect from {url} to {location[:200]!r}: another host"
                )
            if len(redirects) >= 3:
                raise OutboundError(f"{url}: more than 3 redirects")
            redirects.append(target)
            url = target
            if response_status == 303:
                method, body = "GET", None
            continue
        return FetchResult(
            url=url,
            status=response_status,
            headers=response_headers,
            body=content,
            address=address,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            redirects=redirects,
        )


def _request_once(
    url: str,
    scheme: str,
    host: str,
    port: int,
    address: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    deadline: float,
    max_bytes: int,
) -> tuple[int, dict[str, str], bytes]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OutboundError(f"{url}: no time left")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=remaining)
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    try:
        connection.request(
            method,
            target,
            body=body,
            headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity", **headers},
        )
        response = connection.getresponse()
        chunks: list[bytes] = []
        received = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutboundError(
                    f"{url}: took longer than {settings.OPTOUT_OUTBOUND_TIMEOUT_SECONDS} s"
                )
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise OutboundError(f"{url}: the answer is larger than {max_bytes} bytes")
            chunks.append(chunk)
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            b"".join(chunks),
        )
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError | socket.timeout):
            raise OutboundError(
                f"{url}: took longer than {settings.OPTOUT_OUTBOUND_TIMEOUT_SECONDS} s"
            ) from None
        raise OutboundError(f"{url}: {exc.__class__.__name__}: {exc}") from None
    finally:
        connection.close()
