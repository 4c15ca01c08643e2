"""Daily task summaries by email.

`daily_summaries` (cron, public schema) fans out one `send_org_summaries` job
per active organization, enqueued with that organization's schema. Each of
those emails every member who has something to report:

- due today: open tasks assigned to them with `due_at` on that day (UTC);
- overdue: open tasks assigned to them with `due_at` before that day;
- newly assigned: open tasks assigned to them since their last summary in
  this organization (or the last 24 hours), from the audit log
  (`task.created` / `task.assigned` events whose assignee is them).

Idempotent per member, organization and day: the `SummarySent` row (public
schema, unique) is claimed in the transaction that sends the email, so a
second or concurrent run sends nothing, and a failed send leaves no row
(the job is retried, skipping the members already served). Members with
nothing to report get no email (and no row).

Lives in the boards app (it reads tasks and the audit log); `SummarySent`
stays in platform_core.models (a public-schema table: moving it to a tenant
app would move it into every organization's schema), and the cron entry is
wired in platform_core/cron.py.
"""

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from platform_core.emails import org_base_url, quoted, send_templated_email
from platform_core.jobs import FAILURE_TTL, SCHEMA_META, MissingTenant, get_queue, retry_policy
from platform_core.models import SummarySent
from shared_apps.orgs.selectors import (
    active_org_schemas,
    org_active_members,
    org_get,
    org_is_active,
)
from tenant_apps.audit.models import AuditEvent
from tenant_apps.boards.models import Task, TaskStatus

log = logging.getLogger("tenant_apps.boards.summaries")

SUMMARY_QUEUE = "emails"
ASSIGNING_ACTIONS = ("task.created", "task.assigned")


class SummaryDeliveryError(RuntimeError):
    """Some members' summaries could not be sent; the job is retried for them."""


def daily_summaries(*, day: str | None = None) -> int:
    """Cron entry point (public schema): enqueue one job per active organization."""
    if connection.schema_name != get_public_schema_name():  # type: ignore[attr-defined]  # django-tenants
        raise MissingTenant("daily_summaries runs in the public schema")
    day = day or timezone.localdate().isoformat()
    queue = get_queue(SUMMARY_QUEUE, commit_mode="auto")
    orgs = active_org_schemas()
    count = 0
    for org_id, schema_name in orgs.iterator():
        queue.enqueue_call(
            "tenant_apps.boards.summaries.send_org_summaries",
            kwargs={"org_id": str(org_id), "day": day},
            meta={SCHEMA_META: schema_name},
            job_id=f"summary-{org_id}-{day}",
            retry=retry_policy(),
            failure_ttl=FAILURE_TTL,
        )
        count += 1
    log.info("daily summaries for %s: %s organizations", day, count)
    return count


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def _task_line(task) -> dict:
    return {"title": task.title, "board": task.board.name, "due_at": task.due_at}


def member_digests(*, org_id, day: date, members: list, now: datetime | None = None) -> dict:
    """{user_id: {"due_today": [...], "overdue": [...], "new": [...]}} for members with something to report.

    Runs in the organization's schema; a fixed number of queries whatever the
    number of members."""
    now = now or timezone.now()
    start, end = _day_bounds(day)
    user_ids = [m.user_id for m in members]
    if not user_ids:
        return {}
    last_sent = dict(
        SummarySent.objects.filter(organization_id=org_id, user_id__in=user_ids, day__lt=day)
        .values("user_id")
        .annotate(last=Max("sent_at"))
        .values_list("user_id", "last")
    )
    since = {uid: last_sent.get(uid) or now - timedelta(hours=24) for uid in user_ids}

    # Tasks newly assigned to each member, from the audit log (one query).
    by_str = {str(uid): uid for uid in user_ids}
    new_ids: dict = defaultdict(set)
    events = AuditEvent.objects.filter(
        action__in=ASSIGNING_ACTIONS, target_type="task", at__gte=min(since.values())
    ).filter(changes__assignee_id__to__in=list(by_str))
    for target_id, at, changes in events.values_list("target_id", "at", "changes"):
        uid = by_str[changes["assignee_id"]["to"]]
        if at >= since[uid]:
            new_ids[uid].add(target_id)
    all_new = set().union(*new_ids.values())

    tasks = (
        Task.objects.nocache()  # type: ignore[attr-defined]  # cacheops
        .filter(status=TaskStatus.OPEN, assignee_id__in=user_ids)
        .filter(Q(due_at__lt=end) | Q(id__in=all_new) | Q(created_at__gte=min(since.values())))
        .select_related("board")
        .order_by("due_at", "created_at", "id")
    )
    digests: dict = {}
    for task in tasks:
        uid = task.assignee_id
        digest = digests.setdefault(uid, {"due_today": [], "overdue": [], "new": []})
        if task.due_at is not None and start <= task.due_at < end:
            digest["due_today"].append(_task_line(task))
        elif task.due_at is not None and task.due_at < start:
            digest["overdue"].append(_task_line(task))
        if task.id in new_ids.get(uid, ()) or task.created_at >= since[uid]:
            digest["new"].append(_task_line(task))
    return {uid: d for uid, d in digests.items() if any(d.values())}


def _send_once(*, user, org, day: date, digest: dict, base_url: str) -> bool:
    """Claim (user, org, day) and send in one transaction: exactly one email per day."""
    with transaction.atomic():
        _, created = SummarySent.objects.get_or_create(user_id=user.id, organization_id=org.id, day=day)
        if not created:
            return False
        send_templated_email(
            to=user.email,
            template="summaries/daily_summary",
            context={"name": user.name, "org_name": quoted(org.name), "day": day, "org_url": base_url, **digest},
        )
    return True


def send_org_summaries(*, org_id: str, day: str) -> int:
    """Per organization, in its schema (TenantJob): email each member their summary once."""
    org = org_get(org_id=org_id)
    if org.schema_name != connection.schema_name:  # type: ignore[attr-defined]  # django-tenants
        raise MissingTenant(f"summaries of {org.id} must run in {org.schema_name}, not {connection.schema_name}")  # type: ignore[attr-defined]  # django-tenants
    if not org_is_active(org):
        return 0
    the_day = date.fromisoformat(day)
    members = org_active_members(org_id=org.id)
    digests = member_digests(org_id=org.id, day=the_day, members=members)
    base_url = org_base_url(org)
    sent, failed = 0, []
    for membership in members:
        digest = digests.get(membership.user_id)
        if not digest:
            continue
        try:
            sent += _send_once(user=membership.user, org=org, day=the_day, digest=digest, base_url=base_url)
        except Exception as exc:  # one bad address must not starve the other members
            log.warning("summary for %s in %s not sent (%s)", membership.user_id, org.id, exc.__class__.__name__)
            failed.append(str(membership.user_id))
    if failed:
        raise SummaryDeliveryError(f"{len(failed)} summaries not sent in {org.id}; will retry")
    return sent
