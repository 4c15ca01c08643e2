"""Sending email: one templated message (plain text + HTML) through Django's
configured backend (SMTP from EMAIL_* settings; console when EMAIL_HOST is
unset). Links point at an organization's stored primary domain, never at a
request's Host header.

Names people chose (organization names, user names) are never trusted in a
message: `one_line()` strips control characters, line breaks and bidi
overrides, collapses whitespace and bounds the length; `quoted()` also puts
the name in quotes, so an organization called "URGENT: verify your password"
reads as a name: `Ann invited you to join “URGENT: verify your password” on TaskHub`.
"""

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tenants.utils import get_tenant_domain_model

if TYPE_CHECKING:
    from shared_apps.orgs.models import Organization

# Longest organization / person name shown in an email, and longest subject.
NAME_MAX_CHARS = 50
PERSON_MAX_CHARS = 40
SUBJECT_MAX_CHARS = 150

# C0/C1 controls, DEL, zero-width and bidi formatting characters, line/paragraph
# separators, BOM: replaced by a space before whitespace is collapsed.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"'})


def one_line(value: object, *, limit: int) -> str:
    """`value` as one line of at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(_UNSAFE_CHARS.sub(" ", str(value or "")).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def quoted(value: object, *, limit: int = NAME_MAX_CHARS) -> str:
    """A name for an email: one bounded line in curly quotes (its own curly quotes made straight)."""
    return f"“{one_line(str(value or '').translate(_QUOTES), limit=limit)}”"


def person_name(value: object, *, default: str = "Someone") -> str:
    """A person's display name for an email: one bounded line, or `default`."""
    return one_line(value, limit=PERSON_MAX_CHARS) or default


def org_base_url(org: "Organization") -> str:
    """`{scheme}://{primary domain}[:port]` of an organization, from the Domain registry."""
    host = (
        get_tenant_domain_model()
        .objects.filter(tenant_id=org.pk, is_primary=True)
        .values_list("domain", flat=True)
        .first()
        or org.primary_domain
    )
    if not host:
        raise ValueError(f"organization {org.pk} has no domain")
    port = str(settings.PUBLIC_URL_PORT or "").strip()
    return f"{settings.PUBLIC_URL_SCHEME}://{host}{':' + port if port else ''}"


def send_templated_email(*, to: str, template: str, context: dict[str, Any]) -> None:
    """Render `{template}_subject.txt`, `{template}.txt` and `{template}.html` and send them.

    Raises whatever the backend raises (a refused recipient, an unreachable
    server): callers are jobs, and RQ retries them.
    """
    subject = one_line(render_to_string(f"{template}_subject.txt", context), limit=SUBJECT_MAX_CHARS)
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
