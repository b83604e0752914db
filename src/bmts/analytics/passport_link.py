"""What the QR code on a battery encodes (Regulation (EU) 2023/1542, Art. 13(6) and 77(3)): a link to its
passport. Pure.

The payload is `<resolver base URL>/<passport identifier URN>` when a resolver is configured, e.g.
`https://passports.example.com/dpp/urn:bmts:0f3c...`, else the URN itself. The URN goes into one path
segment unchanged (`:` is allowed in a path segment, RFC 3986 section 3.3); any other character that a path
segment may not hold is percent-encoded. GS1 Digital Link (`<base>/01/<GTIN>/21/<serial>`) would be the
form for batteries that carry a GTIN; bmts registers no GTIN, so the passport identifier is the key.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from bmts.schema import DataError, Issue

#: a URN (RFC 8141): `urn:<namespace>:<specific string>`
_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$")


def passport_link(identifier: str, resolver: str | None = None) -> str:
    """The QR payload for the passport `identifier` (a URN), under the `resolver` base URL if given."""
    if not _URN.match(identifier):
        raise DataError(
            Issue(
                "passport link",
                "the passport identifier is not a URN (urn:NAMESPACE:ID)",
                column="passport_id",
            )
        )
    if not resolver:
        return identifier
    parts = urlsplit(resolver)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise DataError(
            Issue(
                "passport link",
                "the resolver must be an http(s) URL without query or fragment",
                column="resolver",
            )
        )
    return f"{resolver.rstrip('/')}/{quote(identifier, safe=':')}"
