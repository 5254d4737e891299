"""The SSRF guard: only http(s) to public addresses, unless the operator allow-lists a host."""

from __future__ import annotations

import pytest

from sora_app.providers.ssrf import AllowList, UnsafeURL, check_url


def dns(answers: dict[str, list[str]]):
    """A resolver with fixed answers (a name it does not know fails like NXDOMAIN)."""

    def resolve(host: str, _port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"Name or service not known: {host}")
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://localhost/",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(UnsafeURL) as refused:
        check_url(url)
    assert not refused.value.retryable


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http://user@example.com/",
        "http:///nohost",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "http://" + "a" * 3000 + ".com/",
    ],
)
def test_malformed_urls_schemes_and_credentials_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_url(url, resolve=dns({"example.com": ["93.184.215.14"]}))


def test_a_public_name_resolves_to_the_address_to_dial():
    target = check_url(
        "https://Hooks.Example.com:8443/in?x=1#frag",
        resolve=dns({"hooks.example.com": ["93.184.215.14"]}),
    )
    assert (target.scheme, target.host, target.port, target.ip) == (
        "https", "hooks.example.com", 8443, "93.184.215.14",
    )  # fmt: skip
    assert target.path == "/in?x=1" and target.host_header == "hooks.example.com:8443"
    assert check_url("http://[2606:4700::1111]/").host_header == "[2606:4700::1111]"


def test_a_name_with_any_private_address_is_refused():
    """The connection could use any of them, so every address must pass."""
    resolve = dns({"mixed.example": ["93.184.215.14", "10.1.2.3"]})
    with pytest.raises(UnsafeURL, match=r"10\.1\.2\.3"):
        check_url("http://mixed.example/", resolve=resolve)


def test_a_name_that_does_not_resolve_may_be_retried():
    with pytest.raises(UnsafeURL) as refused:
        check_url("http://gone.example/", resolve=dns({}))
    assert refused.value.retryable


def test_the_allow_list_names_hosts_addresses_and_networks():
    allow = AllowList.parse(" hooks.lan , 127.0.0.1, 10.0.0.0/8, ::1 ")
    resolve = dns({"hooks.lan": ["192.168.7.7"], "other.lan": ["192.168.7.8"]})
    assert check_url("http://hooks.lan/", allow, resolve).ip == "192.168.7.7"
    assert check_url("http://127.0.0.1:9000/", allow).ip == "127.0.0.1"
    assert check_url("http://10.20.30.40/", allow).ip == "10.20.30.40"
    assert check_url("http://[::1]/", allow).ip == "::1"
    for url in ("http://other.lan/", "http://127.0.0.2/", "http://169.254.169.254/"):
        with pytest.raises(UnsafeURL):
            check_url(url, allow, resolve)
    with pytest.raises(UnsafeURL):  # the allow-list never lets other schemes through
        check_url("file:///etc/passwd", allow)


def test_a_bad_allow_list_entry_is_an_error():
    with pytest.raises(ValueError):
        AllowList.parse("10.0.0.0/33")
