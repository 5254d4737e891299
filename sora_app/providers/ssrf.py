"""Server-side request forgery guard: may the server send a request to this client-given URL?

A client names a URL (a webhook, an input image) and the server connects to it, from inside
the network. Without a check that URL could be the cloud metadata service, the database or
an admin port on loopback. `check_url` refuses everything but plain http(s) to public
addresses (unless an operator's allow-list names the host), and answers the address it
checked: the caller connects to that address (sending the name in Host/SNI), so a DNS answer
that changes between check and connect (rebinding) cannot redirect the request.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""hostname, port → the addresses it resolves to (tests inject their own DNS)."""

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL may not be fetched; `retryable` when only name resolution failed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class AllowList:
    """Hosts an operator lets through anyway: exact hostnames, addresses and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: str | Iterable[str]) -> AllowList:
        """From "hooks.lan, 10.1.2.3, 192.168.0.0/16, ::1"; raises ValueError for junk CIDRs."""
        items = entries.split(",") if isinstance(entries, str) else entries
        hosts, networks = set(), []
        for item in (i.strip().lower() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                if "/" in item or ":" in item:
                    raise ValueError(f"not a hostname, address or network: {item!r}") from None
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `ip`:`port`, send `host` as Host (and TLS name)."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str
    path: str
    """The request target: path and query ("/hooks?x=1")."""

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == SCHEMES[self.scheme] else f"{name}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for the name (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why the server must not connect to this address on a client's behalf, or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None:
            return forbidden_reason(embedded)
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if ip.is_global else "not public"


def _parse(url: str) -> tuple[str, str, int, str]:
    """scheme, hostname, port, request target of a well-formed http(s) URL, or UnsafeURL."""
    if len(url) > MAX_URL_LENGTH or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise UnsafeURL("must be a URL without spaces or control characters, ≤ 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeURL("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("must name a host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURL("has a host name that cannot be encoded") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or SCHEMES[scheme], path


def _resolve(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeURL(f"host {host} could not be resolved: {exc}", retryable=True) from None
    if not found:
        raise UnsafeURL(f"host {host} has no address", retryable=True)
    return found


def check_url(
    url: str, allow: AllowList | None = None, resolve: Resolver = system_resolver
) -> Target:
    """The URL's checked target, or UnsafeURL saying why the server may not fetch it.

    Every address the name resolves to must be public (or allow-listed): a name answering
    one public and one private address is refused, since the connection could use either.
    """
    allow = allow or AllowList()
    scheme, host, port, path = _parse(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = _resolve(host, port, resolve)
    if not allow.allows_host(host):
        for ip in addresses:
            reason = None if allow.allows_ip(ip) else forbidden_reason(ip)
            if reason:
                raise UnsafeURL(
                    f"points to {ip} ({reason}); the server only calls public "
                    "addresses unless its operator allow-lists the host"
                )
    return Target(url, scheme, host, port, str(addresses[0]), path)
