"""What an audit event is about: each audited model says its target type,
the id the event names and the board it belongs to (if any).

Apps register their models in their AppConfig.ready (`register_target`), so
a new entity touches only its own app: audit_record(target=instance) derives
the rest. Public-schema models recorded in an organization's log
(Organization, Membership) are registered by the audit app itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class AuditTarget:
    type: str
    id: UUID | None
    board_id: UUID | None


@dataclass(frozen=True)
class _Rule:
    type: str
    id: Callable[[Any], UUID | None]
    board: Callable[[Any], UUID | None]


_RULES: dict[type, _Rule] = {}


def _pk(obj: Any) -> UUID | None:
    return obj.pk


def _no_board(obj: Any) -> None:
    return None


def register_target(
    model: type,
    type: str,
    *,
    id: Callable[[Any], UUID | None] = _pk,
    board: Callable[[Any], UUID | None] = _no_board,
) -> None:
    """Events about `model` instances are of target type `type`, name `id(obj)`
    (default: the primary key) and belong to board `board(obj)` (default: none)."""
    _RULES[model] = _Rule(type=type, id=id, board=board)


def audit_target(obj: Any) -> AuditTarget:
    """The target type, id and board of an audited instance (registered model)."""
    for klass in type(obj).__mro__:
        rule = _RULES.get(klass)
        if rule is not None:
            return AuditTarget(type=rule.type, id=rule.id(obj), board_id=rule.board(obj))
    raise TypeError(
        f"{type(obj).__name__} is not a registered audit target (tenant_apps.audit.targets)"
    )
