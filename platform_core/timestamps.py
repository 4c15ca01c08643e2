"""The one timestamp format of the API: REST bodies, audit `changes`, the live stream.

RFC 3339 in UTC as Django's JSON encoder writes it (Ninja renders every
response with it): `2026-01-02T03:04:05Z`, or `2026-01-02T03:04:05.123Z`
when there is a fraction (milliseconds, truncated).
"""

from datetime import UTC, datetime


def api_timestamp(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    return text.removesuffix("+00:00") + "Z"
