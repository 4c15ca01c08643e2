"""Mutations sent by a few client threads while a fault is injected, every
request recorded (request id, action it should audit, status, body, time)."""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from proof.harness import http


@dataclass
class Result:
    rid: str
    op: str
    action: str | None  # the audit action a success must have written
    status: int | None  # None: no answer (network error / timeout)
    body: object
    seconds: float
    at: float
    content_type: str = ""
    error: str = ""


@dataclass
class Traffic:
    """Client threads against one organization: create/complete/comment/move tasks
    and (optionally) invites, until stop()."""

    base: str
    host: str
    token: str
    lists: list[str]
    invites: bool = False
    threads: int = 3
    timeout: float = 20
    results: list[Result] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.threads)]

    def start(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)
        return self.results

    def call(self, op: str, action: str | None, method: str, path: str, body=None) -> Result:
        rid = uuid.uuid4().hex
        t0 = time.monotonic()
        try:
            status, headers, parsed = http(self.base, method, path, host=self.host, token=self.token, body=body,
                                           request_id=rid, timeout=self.timeout)
            result = Result(rid, op, action, status, parsed, time.monotonic() - t0, t0,
                            headers.get("content-type", headers.get("Content-Type", "")))
        except Exception as exc:  # no answer at all: a hang or a dropped connection
            result = Result(rid, op, action, None, None, time.monotonic() - t0, t0, error=repr(exc))
        with self._lock:
            self.results.append(result)
        return result

    def _run(self, index: int) -> None:
        """Each thread changes only the tasks it created and tracks their state, so
        every mutation it sends is a real change (no idempotent no-op, which
        writes no event by design); a task whose last change got no clean
        answer is left alone from then on."""
        rnd = random.Random(index)
        mine: dict[str, dict] = {}  # task id -> {"list": id, "done": bool}
        n = 0
        while not self._stop.is_set():
            n += 1
            choice = rnd.random()
            task_id = rnd.choice(list(mine)) if mine else None
            if task_id is None or choice < 0.35:
                list_id = rnd.choice(self.lists)
                r = self.call("task.create", "task.created", "POST", "/tasks",
                              {"list_id": list_id, "title": f"fault task {index}-{n}"})
                if r.status == 201:
                    mine[r.body["id"]] = {"list": list_id, "done": False}
                    with self._lock:
                        self.tasks.append(r.body["id"])
                continue
            state = mine[task_id]
            if choice < 0.5:
                op, action = ("task.reopen", "task.reopened") if state["done"] else ("task.complete", "task.completed")
                r = self.call(op, action, "POST", f"/tasks/{task_id}/{op.split('.')[1]}")
                state["done"] = not state["done"]
            elif choice < 0.65:
                r = self.call("comment.create", "comment.created", "POST", f"/tasks/{task_id}/comments",
                              {"body": f"comment {index}-{n}"})
            elif choice < 0.8:
                target = rnd.choice([x for x in self.lists if x != state["list"]])
                r = self.call("task.move", "task.moved", "POST", f"/tasks/{task_id}/move",
                              {"list_id": target, "position": 0})
                state["list"] = target
            elif self.invites and choice < 0.9:
                r = self.call("invite.create", "invite.created", "POST", "/invites",
                              {"email": f"invitee-{uuid.uuid4().hex[:12]}@example.test", "role": "member"})
            else:
                r = self.call("board.read", None, "GET", "/boards")
            if r.action and not (r.status is not None and 200 <= r.status < 300):
                mine.pop(task_id, None)  # state unknown from now on


def audit_by_request(pg, schema: str) -> dict[str, list[str]]:
    """request_id -> audit actions written under it, in one organization's schema."""
    rows = pg.sql(f'SELECT request_id, action FROM "{schema}".audit_auditevent')
    out: dict[str, list[str]] = {}
    for rid, action in rows:
        out.setdefault(rid, []).append(action)
    return out


def check_audit(results: list[Result], audit: dict[str, list[str]]) -> list[str]:
    """Every successful mutation has exactly its one event; a failed one has none."""
    problems = []
    for r in results:
        if r.action is None:
            continue
        got = audit.get(r.rid, [])
        if r.status is not None and 200 <= r.status < 300:
            if got != [r.action]:
                problems.append(f"{r.op} {r.rid} -> {r.status}: audit {got}, expected [{r.action!r}]")
        elif r.status is not None and 400 <= r.status < 500:
            if got:
                problems.append(f"{r.op} {r.rid} -> {r.status}: refused but audited {got}")
    return problems


def clean_failure(r: Result) -> bool:
    """A failure a client can handle: a JSON error envelope."""
    return (r.status is not None and isinstance(r.body, dict) and "code" in r.body and "detail" in r.body
            and "json" in r.content_type)


def orphan_rows(pg, schema: str) -> list[str]:
    """Tasks and comments whose creation has no audit event (a change without its event)."""
    out = []
    for table, action in (("boards_task", "task.created"), ("boards_comment", "comment.created")):
        rows = pg.sql(
            f'SELECT t.id FROM "{schema}".{table} t WHERE NOT EXISTS (SELECT 1 FROM "{schema}".audit_auditevent a '
            f"WHERE a.target_id = t.id AND a.action = %s)", params=[action])
        out += [f"{table} {row[0]}" for row in rows]
    return out


def board_with_lists(base: str, org: dict, names=("To do", "Doing", "Done")) -> tuple[str, list[str]]:
    token, host = org["users"][0]["token"], org["host"]
    status, _, board = http(base, "POST", "/boards", host=host, token=token, body={"name": f"{org['slug']} board"})
    assert status == 201, board
    lists = []
    for name in names:
        status, _, task_list = http(base, "POST", f"/boards/{board['id']}/lists", host=host, token=token,
                                    body={"name": f"{org['slug']} {name}"})
        assert status == 201, task_list
        lists.append(task_list["id"])
    return board["id"], lists


def summarize(name: str, results: list[Result], **extra) -> dict:
    """Counts by status (printed for docs/PROOF.md's figures; shown with pytest -s)."""
    import collections
    import json

    codes = collections.Counter(str(r.status) for r in results)
    errors = collections.Counter(r.body.get("code") for r in results if isinstance(r.body, dict)
                                 and r.status and r.status >= 400)
    summary = {"fault": name, "requests": len(results), "by_status": dict(sorted(codes.items())),
               "error_codes": dict(errors), "max_seconds": round(max((r.seconds for r in results), default=0), 2),
               **extra}
    print("FAULT-FIGURES " + json.dumps(summary))
    return summary
