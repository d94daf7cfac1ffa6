"""Which webhook URLs are acceptable (amss/domain/webhooks.py), and where an acceptable one points."""

from __future__ import annotations

import pytest

from amss.domain.webhooks import MAX_URL_LENGTH, Destination, destination, subscribed_events, url_problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/", "https"),
        ("https://u:p@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#x", "fragment"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:65536/", "valid URL"),
        ("https://hooks.example.com/\x00", "printable ASCII"),
        ("https://hooks.example.com/ x", "printable ASCII"),
        ("https://hooks.exämple.com/", "printable ASCII"),
        ("https://" + "a" * MAX_URL_LENGTH, "at most"),
        ("https://2130706433/", "DNS name"),
        ("https://0x7f000001/", "DNS name"),
        ("https://127.1/", "DNS name"),
        ("https://[fe80::1%25eth0]/", "IPv6"),
        ("https:///x", "host"),
        ("gopher://hooks.example.com/", "https"),
    ],
)
def test_refused_urls_say_why(url: str, problem: str) -> None:
    found = url_problem(url, allow_http=False)
    assert found is not None and problem in found, (url, found)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in?x=1",
        "HTTPS://HOOKS.EXAMPLE.COM:8443/",
        "https://[2001:db8::1]/",
        "https://93.184.216.34/",
        "https://xn--bcher-kva.example/",
        "https://hooks.example.com./",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert url_problem(url, allow_http=False) is None


def test_http_only_where_allowed() -> None:
    assert url_problem("http://127.0.0.1:8080/in", allow_http=True) is None
    assert url_problem("http://127.0.0.1:8080/in", allow_http=False) is not None


def test_destination_is_the_host_and_the_port_to_check() -> None:
    assert destination("HTTPS://Hooks.Example.COM./in") == Destination("https", "hooks.example.com", 443)
    assert destination("http://[::1]:8080/") == Destination("http", "::1", 8080)
    assert destination("http://127.0.0.1/") == Destination("http", "127.0.0.1", 80)


def test_event_types_are_kept_once_in_their_order() -> None:
    assert subscribed_events(["b", "a", "b"]) == ("b", "a")
