"""Header values as the API may keep them: aiohttp hands undecodable bytes over as lone surrogates.

aiohttp decodes header bytes as UTF-8 with `surrogateescape`, so a byte that is not UTF-8 arrives
as a lone surrogate ('\\udcdc'), which neither Postgres nor a JSON encoder accepts. A header the
API only records (User-Agent) is kept in a safe form by `recorded_text`; a header the API acts
on is refused (400 naming it) or ignored by its own check, and no header value is ever echoed
into an error message.
"""

from __future__ import annotations

import unicodedata
from typing import Final

# the longest User-Agent kept in audit, command and refresh-token rows (the rest is cut off)
MAX_USER_AGENT: Final = 512


def original_bytes(value: str) -> bytes:
    """The bytes a header value was decoded from (lone surrogates back to the bytes they stand for)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte decodes to: keep it, to be replaced below
        return value.encode("utf-8", "surrogatepass")


def recorded_text(value: str | None, limit: int) -> str | None:
    """`value` fit to store: bad bytes as U+FFFD, control characters dropped, `limit` characters at most.

    None for an absent header or one with nothing left."""
    if value is None:
        return None
    decoded = original_bytes(value).decode("utf-8", "replace")
    kept = "".join(char for char in decoded if unicodedata.category(char) not in ("Cc", "Cs"))
    kept = kept.strip()[:limit].rstrip()
    return kept or None


def is_visible_ascii(value: str) -> bool:
    """Only printable ASCII, no spaces or controls: what an origin or a key may be made of."""
    return bool(value) and all("!" <= char <= "~" for char in value)
