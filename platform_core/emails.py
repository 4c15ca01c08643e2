"""Sending email: one templated message (plain text + HTML) through Django's
configured backend (SMTP from EMAIL_* settings; console when EMAIL_HOST is
unset). Links point at an organization's stored primary domain, never at a
request's Host header."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def org_base_url(org) -> str:
    """`{scheme}://{primary domain}[:port]` of an organization, from the Domain registry."""
    from shared_apps.orgs.models import Domain

    host = (
        Domain.objects.filter(tenant_id=org.pk, is_primary=True).values_list("domain", flat=True).first()
        or org.primary_domain
    )
    if not host:
        raise ValueError(f"organization {org.pk} has no domain")
    port = str(settings.PUBLIC_URL_PORT or "").strip()
    return f"{settings.PUBLIC_URL_SCHEME}://{host}{':' + port if port else ''}"


def send_templated_email(*, to: str, template: str, context: dict) -> None:
    """Render `{template}_subject.txt`, `{template}.txt` and `{template}.html` and send them.

    Raises whatever the backend raises (a refused recipient, an unreachable
    server): callers are jobs, and RQ retries them.
    """
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
