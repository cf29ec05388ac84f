"""What identifies the system evidence came from (NIST SP 800-61r2 §3.3.2: host name, serial
number, model, MAC and IP addresses): the body grammar of `evidence.collected`'s `source_*`
fields, and the one spelling each typed value is recorded in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, StringConstraints

from irkit.errors import InputError

if TYPE_CHECKING:
    from irkit.record.entry import Entry

# identifiers of the source (NIST SP 800-61 §3.3.2: serial number, model, MAC and IP
# addresses), each in one spelling only: a MAC as six lower-case hex pairs with colons, an
# IP address as Python's ipaddress writes it (so equal addresses compare equal as text)
MacAddress = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")]
_MAC_INPUT = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")


def _canonical_ip(text: str) -> str:
    """One text per address; an IPv4-mapped IPv6 address is refused (recorded as its IPv4
    address instead), since Python 3.13 changed how it writes those."""
    import ipaddress

    ip = ipaddress.ip_address(text)
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    if mapped or str(ip) != text:
        raise ValueError(f"{text!r} is not an IP address in canonical form")
    return text


IpAddress = Annotated[str, StringConstraints(max_length=45), AfterValidator(_canonical_ip)]


def mac_address(text: str) -> str:
    """`text` as a MAC is recorded (aa:bb:cc:dd:ee:ff), from any of the usual spellings
    (colons, hyphens, none); anything else is refused."""
    typed = text.strip()
    if not _MAC_INPUT.match(typed):
        raise InputError(f"invalid MAC address {text!r}: six hex pairs, e.g. 00:1a:2b:3c:4d:5e")
    digits = typed.replace(":", "").replace("-", "").lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def ip_address(text: str) -> str:
    """`text` as an IP address is recorded (canonical IPv4 or IPv6 text), else refused."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InputError(f"invalid IP address {text!r}") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)  # ::ffff:192.0.2.1 is 192.0.2.1
    return str(ip)


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


SOURCE_FIELDS = ("source_host", "source_serial", "source_model", "source_mac", "source_ip")


def source_of(collected: Entry) -> dict[str, Any]:
    """What a collection recorded about the system its items came from (only what it says)."""
    return {k: collected.body[k] for k in SOURCE_FIELDS if collected.body.get(k)}
