"""The portal's public address: the base of its absolute links (hreflang alternates, canonical).

Search engines want the ``hreflang`` alternates and the canonical link of a page as absolute
URLs. The address is configured (``iatiportal serve --public-url``, ``IATIPORTAL_PUBLIC_URL``,
``create_app(public_url=...)``), never read from the request: the ``Host`` header (and the
``X-Forwarded-*`` ones) is written by the client, and a page cached under one host would carry
an attacker's address to every later reader. It is the deployment's address, not the
publisher's, which is why it is an option of the server and not a key of the profile: one
profile is served on a test and a public address alike.

The portal's own links start at ``/`` (pages, static files), so it is served at the root of its
address: a path, query, fragment or user name in the URL is refused, not half used.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DEFAULT_PORT = {"http": 80, "https": 443}
EXAMPLE = "https://portal.example.org"


def _host(host: str) -> str | None:
    """``host`` in lower case (IDNA for non-ASCII names, IPv6 in brackets), else None."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    try:
        name = host.encode("idna").decode("ascii").lower().removesuffix(".")
    except UnicodeError:
        return None
    return name if all(_LABEL.fullmatch(label) for label in name.split(".")) else None


def parse(value: str) -> str:
    """``value`` as the base of the portal's absolute links: ``scheme://host[:port]``, without
    a trailing slash, scheme and host in lower case, the scheme's default port left out.
    ValueError (saying what is wrong and what to give) for anything else."""
    given = value.strip()
    hint = f"give the address the portal is served at, such as {EXAMPLE}"
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in given) or not given:
        raise ValueError(f"{value!r} is not a public URL: {hint}")
    scheme, sep, rest = given.partition("://")
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORT or not sep:
        raise ValueError(f"{value!r} is not an http or https URL: {hint}")
    netloc, _slash, path = rest.partition("/")
    if path or any(c in rest for c in "?#"):
        raise ValueError(
            f"{value!r} has a path, query or fragment: the portal is served at the root of "
            f"its address; {hint}"
        )
    if "@" in netloc:
        raise ValueError(f"{value!r} has a user name or password: {hint}")
    bracket = netloc.rfind("]")
    host, colon, port_text = netloc.rpartition(":")
    if not colon or bracket > len(host):  # no port (an IPv6 address has colons of its own)
        host, port_text = netloc, ""
    elif not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) <= 65535:
        raise ValueError(f"{value!r} has no valid port: {hint}")
    name = _host(host)
    if not name:
        raise ValueError(f"{value!r} has no valid host name: {hint}")
    port = int(port_text) if port_text else _DEFAULT_PORT[scheme]
    return f"{scheme}://{name}" + ("" if port == _DEFAULT_PORT[scheme] else f":{port}")


def absolute(base: str | None, url: str) -> str:
    """``url`` (a root-relative link of the portal, ``/...``) under ``base`` (from ``parse``);
    the link as it is where no base is configured."""
    if base is None:
        return url
    return base + "/" + url.lstrip("/")
