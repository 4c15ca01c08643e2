"""Shared bits of the operator commands: errors become CommandError (exit 1)."""

from contextlib import contextmanager

from django.core.management.base import CommandError

from platform_core.errors import AppError


@contextmanager
def operator_errors():
    try:
        yield
    except AppError as exc:
        extra = "; ".join(e["msg"] for e in exc.extra.get("errors", []) if e["msg"] != exc.detail)
        raise CommandError(f"{exc.detail}{' ' + extra if extra else ''} [{exc.code}]") from None


def org_line(org) -> str:
    return f"{org.slug or org.deleted_slug or '-'} ({org.status}, schema {org.schema_name})"
