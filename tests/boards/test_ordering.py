"""Order of lists and tasks: gapped ranks, O(1) writes per move, renumbering, concurrency."""

import threading
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from model_bakery import baker

from platform_core.auth import Actor
from tenant_apps.boards.ranking import GAP
from tests.boards.conftest import audit_events, in_org, seed_board


def _titles(api, world, list_id) -> list[str]:
    r = api(world.a, world.a.owner).get("/tasks", {"list_id": str(list_id), "limit": 200})
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    assert [item["position"] for item in items] == list(range(len(items)))
    return [item["title"] for item in items]


def _ranks(list_id) -> dict:
    from tenant_apps.boards.models import Task

    return dict(Task.objects.filter(list_id=list_id).values_list("id", "rank"))


@pytest.fixture
def abcd(world, lookalike):
    """Org A: a list with tasks A, B, C, D (and an empty second list)."""
    seeded = seed_board(world.a, name="Roadmap", lists=("Main", "Empty"), tasks=0)
    with in_org(world.a):
        for title in "ABCD":
            baker.make_recipe(
                "boards.task", list=seeded.lists[0], title=title, created_by=world.a.owner.id
            )
    return seeded


@pytest.mark.django_db
class TestPositions:
    def test_create_at_positions(self, api, world, abcd):
        client = api(world.a, world.a.owner)
        main = str(abcd.lists[0].id)
        for title, position, expected in [("x", 0, 0), ("y", 2, 2), ("z", -5, 0), ("w", 999, 7)]:
            r = client.post("/tasks", {"list_id": main, "title": title, "position": position})
            assert r.status_code == 201, r.content
            assert r.json()["position"] == expected
        assert _titles(api, world, main) == ["z", "x", "A", "y", "B", "C", "D", "w"]

    @pytest.mark.parametrize(
        ("title", "position", "expected"),
        [
            ("A", 2, "BCAD"),
            ("A", 3, "BCDA"),
            ("A", 99, "BCDA"),
            ("D", 0, "DABC"),
            ("D", 1, "ADBC"),
            ("B", 2, "ACBD"),
            ("C", 1, "ACBD"),
        ],
    )
    def test_move_within_a_list(self, api, world, abcd, title, position, expected):
        from tenant_apps.boards.models import Task

        with in_org(world.a):
            task = Task.objects.get(list=abcd.lists[0], title=title)
        r = api(world.a, world.a.owner).post(
            f"/tasks/{task.id}/move", {"list_id": str(abcd.lists[0].id), "position": position}
        )
        assert r.status_code == 200, r.content
        assert r.json()["position"] == expected.index(title)
        assert "".join(_titles(api, world, abcd.lists[0].id)) == expected

    def test_move_to_the_same_place_writes_nothing(self, api, world, abcd):
        from tenant_apps.boards.models import Task

        with in_org(world.a):
            task = Task.objects.get(list=abcd.lists[0], title="B")
            ranks = _ranks(abcd.lists[0].id)
        r = api(world.a, world.a.owner).post(
            f"/tasks/{task.id}/move", {"list_id": str(abcd.lists[0].id), "position": 1}
        )
        assert r.status_code == 200 and r.json()["position"] == 1
        assert audit_events(world.a, target_id=task.id) == []
        with in_org(world.a):
            assert _ranks(abcd.lists[0].id) == ranks

    def test_move_into_empty_list(self, api, world, abcd):
        from tenant_apps.boards.models import Task

        with in_org(world.a):
            task = Task.objects.get(list=abcd.lists[0], title="C")
        r = api(world.a, world.a.owner).post(
            f"/tasks/{task.id}/move", {"list_id": str(abcd.lists[1].id), "position": 5}
        )
        assert r.json()["position"] == 0
        assert _titles(api, world, abcd.lists[1].id) == ["C"]
        assert _titles(api, world, abcd.lists[0].id) == ["A", "B", "D"]

    def test_a_move_writes_one_row(self, api, world, abcd):
        """Common case: only the moved task's row changes (one UPDATE of boards_task)."""
        from tenant_apps.boards.models import Task

        with in_org(world.a):
            task = Task.objects.get(list=abcd.lists[0], title="D")
            before = _ranks(abcd.lists[0].id)
        with CaptureQueriesContext(connection) as ctx:
            r = api(world.a, world.a.owner).post(
                f"/tasks/{task.id}/move", {"list_id": str(abcd.lists[0].id), "position": 1}
            )
        assert r.status_code == 200
        task_updates = [  # (the move's UPDATE shares its statement with the placement's reads)
            q["sql"] for q in ctx.captured_queries if 'UPDATE "boards_task"' in q["sql"]
        ]
        assert len(task_updates) == 1, task_updates
        with in_org(world.a):
            after = _ranks(abcd.lists[0].id)
        assert {tid for tid in before if before[tid] != after[tid]} == {task.id}

    def test_renumbers_a_list_without_gaps(self, api, world, abcd):
        from tenant_apps.boards.models import Task

        with in_org(world.a):
            for rank, title in enumerate("ABCD", start=1):  # no room between neighbours
                Task.objects.filter(list=abcd.lists[0], title=title).update(rank=rank)
        r = api(world.a, world.a.owner).post(
            "/tasks", {"list_id": str(abcd.lists[0].id), "title": "x", "position": 2}
        )
        assert r.status_code == 201 and r.json()["position"] == 2
        assert _titles(api, world, abcd.lists[0].id) == ["A", "B", "x", "C", "D"]
        with in_org(world.a):
            ranks = sorted(_ranks(abcd.lists[0].id).values())
        assert ranks == [GAP * i for i in range(1, 6)]

    def test_many_inserts_at_one_spot_keep_the_order(self, api, world, abcd):
        """Halving the gap again and again, then renumbering, never breaks the order."""
        client = api(world.a, world.a.owner)
        main = str(abcd.lists[0].id)
        for i in range(25):  # log2(GAP) = 10 halvings before a renumbering
            r = client.post("/tasks", {"list_id": main, "title": f"n{i}", "position": 1})
            assert r.status_code == 201 and r.json()["position"] == 1
        assert _titles(api, world, main) == [
            "A",
            *[f"n{i}" for i in reversed(range(25))],
            "B",
            "C",
            "D",
        ]

    def test_list_positions(self, api, world, abcd):
        client = api(world.a, world.a.owner)
        board = abcd.board.id
        names = []
        for name, position in [("Inbox", 0), ("Middle", 2), ("Last", None)]:
            body = {"name": name, **({"position": position} if position is not None else {})}
            assert client.post(f"/boards/{board}/lists", body).status_code == 201
        names = [lst["name"] for lst in client.get(f"/boards/{board}").json()["lists"]]
        assert names == ["Inbox", "Main", "Middle", "Empty", "Last"]
        last = client.get(f"/boards/{board}").json()["lists"][-1]["id"]
        r = client.patch(f"/lists/{last}", {"position": 1})
        assert r.json()["position"] == 1
        names = [lst["name"] for lst in client.get(f"/boards/{board}").json()["lists"]]
        assert names == ["Inbox", "Last", "Main", "Middle", "Empty"]

    def test_b_positions_are_independent(self, api, world, abcd, lookalike):
        """B's look-alike list keeps its own order while A's changes."""
        client = api(world.a, world.a.owner)
        client.post("/tasks", {"list_id": str(abcd.lists[0].id), "title": "first", "position": 0})
        r = api(world.b, world.b.owner).get("/tasks", {"list_id": str(lookalike.lists[0].id)})
        assert [item["title"] for item in r.json()["items"]] == ["To do #0", "To do #1", "To do #2"]
        assert [item["position"] for item in r.json()["items"]] == [0, 1, 2]
        foreign = lookalike.tasks[0][0].id
        r = client.post(f"/tasks/{foreign}/move", {"list_id": str(abcd.lists[0].id), "position": 0})
        assert r.status_code == 404


@pytest.mark.django_db
class TestConstraints:
    def test_rank_is_unique_within_a_list(self, world, abcd):
        from tenant_apps.boards.models import Task

        with in_org(world.a), pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            taken = Task.objects.filter(list=abcd.lists[0]).first().rank
            baker.make_recipe("boards.task", list=abcd.lists[0], rank=taken)

    def test_task_board_must_be_its_lists_board(self, world, abcd):
        other = seed_board(world.a, name="Other", lists=("L",), tasks=0)
        with in_org(world.a), pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            baker.make_recipe("boards.task", board=other.board, list=abcd.lists[0])


# --- concurrency: real threads, each with its own connection -------------------------


def _actor(org_world) -> Actor:
    owner = org_world.owner
    return Actor(
        user_id=owner.id, email=owner.email, name=owner.name, org_id=org_world.org.id, role="owner"
    )


def _run_concurrently(schema_name: str, jobs: list) -> list:
    """Run each job in its own thread (own connection, in the schema), started together."""
    barrier = threading.Barrier(len(jobs))
    errors: list = []

    def run(job):
        try:
            with schema_context(schema_name):
                barrier.wait(timeout=10)
                job()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


@pytest.fixture
def committed_board(world):
    """A board committed in A's schema (transactional tests), deleted afterwards:
    such tests' flush only empties the public schema."""
    from tenant_apps.boards.models import Board

    seeded = seed_board(
        world.a, name=f"Concurrency {uuid.uuid4().hex[:6]}", lists=("Target", "Source"), tasks=0
    )
    yield seeded
    with in_org(world.a):
        Board.objects.filter(id=seeded.board.id).delete()


def _assert_consistent(list_id, expected_count: int) -> None:
    from tenant_apps.boards.models import Task

    ranks = list(Task.objects.filter(list_id=list_id).values_list("rank", flat=True))
    assert len(ranks) == expected_count, "a task was lost or duplicated"
    assert len(set(ranks)) == len(ranks), "two tasks share a position"


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_at_one_position(world, committed_board):
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task

    target = committed_board.lists[0]
    with in_org(world.a):
        for rank, title in enumerate("AB", start=1):  # no gap: every insert between them renumbers
            baker.make_recipe("boards.task", list=target, title=title, rank=rank)
    actor = _actor(world.a)
    jobs = [
        (lambda i=i: services.task_create(actor=actor, task_list=target, title=f"t{i}", position=1))
        for i in range(6)
    ]
    errors = _run_concurrently(world.a.org.schema_name, jobs)
    assert errors == []
    with in_org(world.a):
        _assert_consistent(target.id, 8)
        titles = list(
            Task.objects.filter(list=target).order_by("rank").values_list("title", flat=True)
        )
    assert titles[0] == "A" and titles[-1] == "B"


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_into_one_list(world, committed_board):
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task

    target, source = committed_board.lists
    with in_org(world.a):
        for rank, title in enumerate("ABC", start=1):
            baker.make_recipe("boards.task", list=target, title=title, rank=rank)
        movers = [baker.make_recipe("boards.task", list=source, title=f"m{i}") for i in range(6)]
    actor = _actor(world.a)
    jobs = [
        (
            lambda task=task, i=i: services.task_move(
                actor=actor, task=task, to_list=target, position=1 + i % 2
            )
        )
        for i, task in enumerate(movers)
    ]
    errors = _run_concurrently(world.a.org.schema_name, jobs)
    assert errors == []
    with in_org(world.a):
        _assert_consistent(target.id, 9)
        _assert_consistent(source.id, 0)
        moved = Task.objects.filter(list=target, title__startswith="m").count()
        events = audit_events(world.a, action="task.moved", target_id__in=[t.id for t in movers])
    assert moved == 6 and len(events) == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_within_one_list(world, committed_board):
    from tenant_apps.boards import services

    target = committed_board.lists[0]
    with in_org(world.a):
        # ranks 1..8: no gaps, so most moves renumber the list
        tasks = [
            baker.make_recipe("boards.task", list=target, title=f"t{i}", rank=i + 1)
            for i in range(8)
        ]
    actor = _actor(world.a)
    jobs = [
        (
            lambda task=task, i=i: services.task_move(
                actor=actor, task=task, to_list=target, position=(i * 3) % 8
            )
        )
        for i, task in enumerate(tasks)
    ]
    errors = _run_concurrently(world.a.org.schema_name, jobs)
    assert errors == []
    with in_org(world.a):
        _assert_consistent(target.id, 8)


@pytest.mark.django_db(transaction=True)
def test_cached_positions_follow_committed_changes(api, world, committed_board):
    """With the query cache live (committed writes), a task's position and the
    board detail change when another task is inserted before it or moved away."""
    client = api(world.a, world.a.owner)
    target, source = committed_board.lists
    task = client.post("/tasks", {"list_id": str(target.id), "title": "mine"}).json()
    for _ in range(2):  # the second read may come from the cache
        assert client.get(f"/tasks/{task['id']}").json()["position"] == 0
        assert (
            client.get(f"/boards/{committed_board.board.id}").json()["lists"][0]["tasks"][0]["id"]
            == task["id"]
        )
    client.post("/tasks", {"list_id": str(target.id), "title": "before", "position": 0})
    assert client.get(f"/tasks/{task['id']}").json()["position"] == 1
    assert [
        t["title"]
        for t in client.get(f"/boards/{committed_board.board.id}").json()["lists"][0]["tasks"]
    ] == [
        "before",
        "mine",
    ]
    page = client.get("/tasks", {"list_id": str(target.id)}).json()["items"]
    assert [(t["title"], t["position"]) for t in page] == [("before", 0), ("mine", 1)]
    client.post(f"/tasks/{task['id']}/move", {"list_id": str(source.id)})
    page = client.get("/tasks", {"list_id": str(target.id)}).json()["items"]
    assert [(t["title"], t["position"]) for t in page] == [("before", 0)]
