"""The QR payload of a passport: the URN under a resolver base URL, or the URN itself."""

from __future__ import annotations

import pytest

from bmts.analytics.passport_link import passport_link
from bmts.schema import DataError

URN = "urn:bmts:0f3c5d7e8a4b4f609c2d1b6e0a9f4c37"


def test_the_urn_alone_or_under_the_resolver() -> None:
    assert passport_link(URN) == URN
    assert passport_link(URN, "https://dpp.example.com/p") == f"https://dpp.example.com/p/{URN}"
    assert passport_link(URN, "https://dpp.example.com/p/") == f"https://dpp.example.com/p/{URN}"
    # characters a path segment may not hold are percent-encoded, the colons are kept
    assert (
        passport_link("urn:x-acme:pack/7?a#b", "http://r.example")
        == "http://r.example/urn:x-acme:pack%2F7%3Fa%23b"
    )


@pytest.mark.parametrize("identifier", ["", "DP-000001", "urn:bmts", "urn::x", "urn:bmts:with space"])
def test_an_identifier_that_is_not_a_urn_is_refused(identifier: str) -> None:
    with pytest.raises(DataError, match="not a URN"):
        passport_link(identifier, "https://dpp.example.com")


@pytest.mark.parametrize(
    "resolver", ["dpp.example.com", "ftp://dpp.example.com", "https://dpp.example.com/?id=", "https:///p"]
)
def test_a_resolver_that_is_not_a_plain_http_url_is_refused(resolver: str) -> None:
    with pytest.raises(DataError, match="resolver"):
        passport_link(URN, resolver)
