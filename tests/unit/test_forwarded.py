"""The client address behind proxies: ``X-Forwarded-For`` is believed only from trusted peers,
read from the right, past every trusted hop."""

from __future__ import annotations

import pytest

from streams.forwarded import client_address, parse_address, parse_networks

TRUSTED = parse_networks("127.0.0.1, 10.0.0.0/8, fd00::/8")


def test_no_trusted_proxies_never_reads_the_header() -> None:
    assert client_address("127.0.0.1", "6.6.6.6", ()) == "127.0.0.1"


def test_an_untrusted_peer_keeps_its_socket_address() -> None:
    assert client_address("192.0.2.9", "6.6.6.6", TRUSTED) == "192.0.2.9"


def test_a_trusted_peer_names_the_client() -> None:
    assert client_address("127.0.0.1", "203.0.113.7", TRUSTED) == "203.0.113.7"


def test_the_right_most_untrusted_address_wins_over_a_forged_left_part() -> None:
    # The client wrote "6.6.6.6" itself; the proxies appended what they saw.
    chain = "6.6.6.6, 203.0.113.7, 10.1.2.3"
    assert client_address("127.0.0.1", chain, TRUSTED) == "203.0.113.7"


def test_several_headers_are_one_chain() -> None:
    assert client_address("10.0.0.1", ["6.6.6.6, 198.51.100.4", "10.0.0.2"], TRUSTED) == "198.51.100.4"


def test_all_trusted_means_the_left_most() -> None:
    assert client_address("127.0.0.1", "10.0.0.5, 10.0.0.6", TRUSTED) == "10.0.0.5"


def test_garbage_stops_at_the_last_true_hop() -> None:
    assert client_address("127.0.0.1", "alice, 10.0.0.6", TRUSTED) == "10.0.0.6"
    assert client_address("127.0.0.1", 'x"; root = "', TRUSTED) == "127.0.0.1"


def test_missing_or_empty_header() -> None:
    assert client_address("127.0.0.1", None, TRUSTED) == "127.0.0.1"
    assert client_address("127.0.0.1", " , ", TRUSTED) == "127.0.0.1"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:5678", "1.2.3.4"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("unknown", None),
        ("_hidden", None),
    ],
)
def test_addresses_as_proxies_write_them(text: str, expected: str | None) -> None:
    got = parse_address(text)
    assert (str(got) if got is not None else None) == expected


def test_ipv6_peers_and_networks() -> None:
    assert client_address("fd00::1", "2001:db8::7", TRUSTED) == "2001:db8::7"
    assert client_address("::ffff:127.0.0.1", "203.0.113.1", TRUSTED) == "203.0.113.1"


def test_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300' is not an IP address or CIDR network"):
        parse_networks("127.0.0.1, 10.0.0.300")
