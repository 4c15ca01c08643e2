"""Daily summaries with a real worker and a real SMTP server: each member gets
their own organization's tasks (due today, overdue, newly assigned since the
last summary), once per organization and day, however often the job runs."""

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from platform_core.auth import Actor
from platform_core.emails import org_base_url
from tests.jobs.realparts import html_body, run_worker, text_body
from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timezone.localdate()
START = timezone.make_aware(datetime.combine(DAY, time.min))


def _board(org, creator):
    from tenant_apps.boards.models import Board, TaskList

    with tenant_context(org):
        board = Board.objects.create(name=f"{org.name} board", created_by=creator.id)
        return board, TaskList.objects.create(board=board, name="Todo", rank=1024)


def _task(org, task_list, title, *, assignee=None, due_at=None, status="open", created_at=None):
    from tenant_apps.boards.models import Task

    with tenant_context(org):
        return Task.objects.create(
            board_id=task_list.board_id, list=task_list, title=title, assignee_id=assignee.id if assignee else None,
            created_by=uuid.uuid4(), due_at=due_at, status=status, rank=Task.objects.count() * 1024 + 1024,
            created_at=created_at or timezone.now() - timedelta(days=10),
        )


def _assigned_event(org, task, user, at):
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        AuditEvent.objects.create(
            at=at, action="task.assigned", target_type="task", target_id=task.id,
            changes={"assignee_id": {"from": None, "to": str(user.id)}},
        )


def _actor(org, user, role="owner") -> Actor:
    return Actor(user_id=user.id, email=user.email, name=user.name, org_id=org.id, role=role)


def _fan_out():
    from tenant_apps.boards.summaries import daily_summaries

    with schema_context("public"):
        assert daily_summaries(day=DAY.isoformat()) >= 2
    run_worker("emails")


@pytest.fixture
def scene(world):
    """`dual` is a member of A and B; tasks in both; titles carry a marker."""
    from platform_core.models import SummarySent
    from tenant_apps.boards.services import task_assign, task_create

    m = uuid.uuid4().hex[:6]
    dual = make_user(unique_email("dual"), "Dual Member")
    add_member(world.a.org, dual, "member")
    add_member(world.b.org, dual, "member")
    # dual's last summary in A was two days ago; in B there was none (24 hours back)
    SummarySent.objects.create(user_id=dual.id, organization_id=world.a.org.id, day=DAY - timedelta(days=2),
                               sent_at=timezone.now() - timedelta(days=2))

    _, a_list = _board(world.a.org, world.a.owner)
    _, b_list = _board(world.b.org, world.b.owner)
    noon = START + timedelta(hours=12)
    _task(world.a.org, a_list, f"A-due-today-{m}", assignee=dual, due_at=noon)
    _task(world.a.org, a_list, f"A-overdue-{m}", assignee=dual, due_at=START - timedelta(days=2))
    _task(world.a.org, a_list, f"A-next-week-{m}", assignee=dual, due_at=START + timedelta(days=7))
    _task(world.a.org, a_list, f"A-done-{m}", assignee=dual, due_at=noon, status="done")
    old = _task(world.a.org, a_list, f"A-assigned-before-last-summary-{m}", assignee=dual)
    _assigned_event(world.a.org, old, dual, timezone.now() - timedelta(days=3))
    _task(world.a.org, a_list, f"A-for-member-{m}", assignee=world.a.member, due_at=noon)
    with tenant_context(world.a.org):  # through the real services: real audit events
        later = _task(world.a.org, a_list, f"A-newly-assigned-{m}")
        task_assign(actor=_actor(world.a.org, world.a.owner), task=later, assignee_id=dual.id)
        task_create(actor=_actor(world.a.org, world.a.admin, "admin"), task_list=a_list,
                    title=f"A-created-for-dual-{m}", assignee_id=dual.id)

    _task(world.b.org, b_list, f"B-due-today-{m}", assignee=dual, due_at=noon)
    _task(world.b.org, b_list, f"B-overdue-for-member-{m}", assignee=world.b.member, due_at=START - timedelta(days=1))
    return {"m": m, "dual": dual}


def _titles(message, m) -> set[str]:
    return {word for word in text_body(message).split() if word.endswith(m)}


def _section(message, heading: str, m: str) -> set[str]:
    text = text_body(message)
    part = text.split(heading, 1)[1].split("\n\n", 1)[0] if heading in text else ""
    return {word for word in part.split() if word.endswith(m)}


def test_each_member_gets_their_own_orgs_tasks_once(world, smtp_server, scene):
    from platform_core.models import SummarySent

    m, dual = scene["m"], scene["dual"]
    _fan_out()

    mails = smtp_server.to(dual.email)
    assert len(mails) == 2
    by_org = {("Acme" if "Acme" in mail["Subject"] else "Globex"): mail for mail in mails}
    a_mail, b_mail = by_org["Acme"], by_org["Globex"]
    assert _titles(a_mail, m) == {
        f"A-due-today-{m}", f"A-overdue-{m}", f"A-newly-assigned-{m}", f"A-created-for-dual-{m}",
    }
    assert _section(a_mail, "Due today:", m) == {f"A-due-today-{m}"}
    assert _section(a_mail, "Overdue:", m) == {f"A-overdue-{m}"}
    assert _section(a_mail, "Newly assigned to you:", m) == {f"A-newly-assigned-{m}", f"A-created-for-dual-{m}"}
    assert f"A-due-today-{m}" in html_body(a_mail)
    assert org_base_url(world.a.org) in text_body(a_mail) and "acme.localhost" in org_base_url(world.a.org)
    # B's summary: B's task only (its "newly assigned" window is the last 24 hours)
    assert _titles(b_mail, m) == {f"B-due-today-{m}"}
    assert org_base_url(world.b.org) in text_body(b_mail)

    [a_member_mail] = smtp_server.to(world.a.member.email)
    assert _titles(a_member_mail, m) == {f"A-for-member-{m}"}
    [b_member_mail] = smtp_server.to(world.b.member.email)
    assert _titles(b_member_mail, m) == {f"B-overdue-for-member-{m}"}
    assert smtp_server.to(world.a.owner.email) == []  # nothing to report, no email

    sent = set(SummarySent.objects.filter(day=DAY).values_list("user_id", "organization_id"))
    assert {(dual.id, world.a.org.id), (dual.id, world.b.org.id), (world.a.member.id, world.a.org.id),
            (world.b.member.id, world.b.org.id)} <= sent

    # the cron fires again (or twice at once): nobody gets a second email today
    count = len(smtp_server.messages)
    _fan_out()
    assert len(smtp_server.messages) == count
    assert SummarySent.objects.filter(day=DAY).count() == len(sent)


def test_failed_sends_are_retried_without_resending_the_others(world, settings, smtp_server, scene):
    from platform_core.models import SummarySent

    settings.RQ_RETRY_INTERVALS = []  # fail at once, into the failed registry
    dual = scene["dual"]
    smtp_server.refuse, smtp_server.refuse_only = "550 5.1.1 Mailbox unavailable", {dual.email.lower()}
    _fan_out()
    assert smtp_server.to(dual.email) == []
    assert not SummarySent.objects.filter(user_id=dual.id, day=DAY).exists()
    assert len(smtp_server.to(world.a.member.email)) == 1  # the others went out

    smtp_server.refuse = None
    _fan_out()  # e.g. the operator re-runs the fan-out
    assert len(smtp_server.to(dual.email)) == 2
    assert len(smtp_server.to(world.a.member.email)) == 1  # not again
