"""Gapped integer ranks: the order of lists in a board and of tasks in a list.

Placing an item at a 0-based position reads the size of the container and
the (at most two) neighbours at that position and takes a rank between them,
all in one statement (`placement_sql`, which the task services fuse with their
INSERT/UPDATE and audit event): one row written. Appending
takes the last rank + `GAP`, inserting first the first rank - `GAP` (ranks
are signed 64-bit), so the ends never run out of room in practice. Between
two neighbours the midpoint is taken, which leaves room for about log2(GAP)
= 32 inserts at the same spot.

When two neighbours have consecutive ranks, only a WINDOW around the
insertion point is renumbered (list labeling, as in Bender et al., "Two
simplified algorithms for maintaining order in a list", 2002): `k` items on
each side, k = 1, 2, 4, ..., until the window's items plus the new one can be
spread evenly between the window's outer neighbours with at least
`MIN_SPACING * 2**level` between ranks. Larger windows must end sparser, so
a rewrite of `w` items buys room for about `w` further inserts there, and the
amortised cost of an insert is O(log n) rows. A window that reaches an end of
the container is open on that side and is spread `GAP` apart (only when it
covers the whole container is everything renumbered: in practice once, on a
list packed by the old 1,024 spacing). Window rows are read by rank ranges
(index range scans), never the whole container.

Callers hold a lock on the container row (the board for lists, the list for
tasks) for the whole transaction, so two placements in one container are
serialised; the unique (container, rank) constraint, deferred to commit, is
the safety net.
"""

from functools import cache
from typing import Any

from cacheops.conf import model_profile
from django.conf import settings
from django.db import connection
from django.db.models import Model, QuerySet

from platform_core.cache import invalidate_rows

GAP = 2**32  # between appended items, and between all items after a full renumbering
MIN_SPACING = 16  # spacing a level-0 window (one item each side) must reach
LOW, HIGH = -(2**62), 2**62  # ranks stay inside; bigint is +-2**63
_FIRST_FETCH = 16  # window rows read per side on the first read of a rebalance


class Full(Exception):
    """The container already holds `capacity` items."""

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.capacity = capacity


def clamp(position: int | None, size: int) -> int:
    """Insert position within [0, size]; None means the end."""
    if position is None:
        return size
    return max(0, min(position, size))


@cache
def placement_sql(table: str, container: str, *, exclude: bool) -> str:
    """CTEs ending in `pl(size, idx, before, after, rank)`: where an item goes in
    the container, in one statement (PostgreSQL reads the count and the (at most
    two) neighbours at the clamped position from the (container, rank) index).

    `rank` is a free rank between the neighbours, NULL when there is none (the
    caller rebalances, then asks again); `size` counts the other items. The
    choice is `place`'s, in SQL: after the last, GAP more; before the first,
    GAP less; between two, the midpoint (floor, as Python's //).

    Parameters, in order (placement_params): container id, [item id], position,
    position, container id, [item id], rank; with `exclude` the item itself is
    left out (a move within its container). A rank given is taken as is (the
    slot a rebalance made). Run it after the statement that locked
    the container: each statement reads a fresh snapshot, so it sees every
    placement committed before the lock was granted.
    """
    others = f'"{container}" = %s' + (" AND id <> %s" if exclude else "")
    return f"""
    pl_size AS MATERIALIZED (SELECT count(*) AS size FROM "{table}" WHERE {others}),
    pl_index AS MATERIALIZED (
        SELECT size, CASE WHEN %s::bigint IS NULL THEN size
                          ELSE greatest(0, least(%s::bigint, size)) END AS idx
        FROM pl_size),
    pl_near AS MATERIALIZED (
        SELECT size, idx, (
            SELECT array_agg(rank ORDER BY rank) FROM (
                SELECT rank FROM "{table}" WHERE {others}
                ORDER BY rank OFFSET greatest(idx - 1, 0) LIMIT 2) n
        ) AS near
        FROM pl_index),
    pl_bounds AS MATERIALIZED (
        SELECT size, idx,
               CASE WHEN idx > 0 THEN near[1] END AS before,
               CASE WHEN idx < size THEN near[CASE WHEN idx > 0 THEN 2 ELSE 1 END] END AS after
        FROM pl_near),
    pl AS (
        SELECT size, idx, before, after, coalesce(%s::bigint, CASE
            WHEN before IS NULL AND after IS NULL THEN {GAP}::bigint
            WHEN after IS NULL AND before <= {HIGH - GAP} THEN before + {GAP}
            WHEN before IS NULL AND after >= {LOW + GAP} THEN after - {GAP}
            WHEN after::numeric - before > 1 THEN (before + div(after::numeric - before, 2))::bigint
        END) AS rank
        FROM pl_bounds)"""


def placement_params(
    container_id: Any, item_id: Any, position: int | None, *, exclude: bool, rank: int | None = None
) -> list[Any]:
    """The parameters of placement_sql(..., exclude=exclude), in order."""
    others = [container_id, item_id] if exclude else [container_id]
    return [*others, position, position, *others, rank]


def place(
    model: type[Model],
    container: str,
    container_id: Any,
    item_id: Any,
    position: int | None,
    *,
    capacity: int | None = None,
) -> tuple[int, int]:
    """Where item `item_id` goes among the items of `model` whose `container`
    column is `container_id` (the item itself is ignored).

    Returns the clamped position and a free rank between its neighbours there:
    one statement. When no rank is free, renumbers a window of neighbours (one
    UPDATE) around a slot for the item. The caller writes the item's rank.
    With `capacity`, raises Full when the container already holds that many
    other items. The caller holds a lock on the container row.
    """
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {placement_sql(table, container, exclude=True)} SELECT size, idx, before, after, rank FROM pl",
            placement_params(container_id, item_id, position, exclude=True),
        )
        size, index, before, after, rank = cursor.fetchone()
    if capacity is not None and size >= capacity:
        raise Full(capacity)
    if rank is None:
        rank = rebalance(siblings(model, container, container_id, item_id), index, size, before, after)
    return int(index), int(rank)


def siblings(model: type[Model], container: str, container_id: Any, item_id: Any) -> QuerySet[Any]:
    """The other items of the container, by rank, read from PostgreSQL (never the query cache)."""
    # cacheops adds QuerySet.nocache (unknown to django-stubs).
    queryset = model._default_manager.nocache()  # type: ignore[attr-defined]
    result: QuerySet[Any] = queryset.filter(**{container: container_id}).exclude(pk=item_id)
    return result.order_by("rank")


def rebalance(siblings: QuerySet[Any], index: int, size: int, before: int | None, after: int | None) -> int:
    """Renumber the smallest acceptable window around slot `index`; return the slot's rank.

    `siblings` is ordered by rank; `before`/`after` are the ranks of the items
    at index - 1 and index (None past an end).
    """
    left_rows = siblings.filter(rank__lte=before).order_by("-rank") if before is not None else None
    right_rows = siblings.filter(rank__gte=after).order_by("rank") if after is not None else None
    left: list[Any] = []  # left[j] is the item at index - 1 - j
    right: list[Any] = []  # right[j] is the item at index + j
    fetched = 0
    k, level = 1, 0
    while True:
        if k + 1 > fetched:  # whole rows: the query cache invalidates by their fields
            fetched = max(k + 1, 4 * fetched, _FIRST_FETCH)
            left = list(left_rows[:fetched]) if left_rows is not None else []
            right = list(right_rows[:fetched]) if right_rows is not None else []
        left_open, right_open = k >= index, k >= size - index
        window = [*reversed(left[:k]), None, *right[:k]]  # None: the slot for the new item
        count = len(window)
        low: int | None = None if left_open else left[k].rank
        high: int | None = None if right_open else right[k].rank
        if low is None and high is None:
            low, high = 0, (count + 1) * GAP
        elif low is None and high is not None:
            low = max(LOW - 1, high - (count + 1) * GAP)
        elif high is None and low is not None:
            high = min(HIGH + 1, low + (count + 1) * GAP)
        assert low is not None and high is not None  # one branch above set each
        spacing = (high - low) // (count + 1)
        if (left_open and right_open) or spacing >= MIN_SPACING * 2**level:
            break
        k, level = 2 * k, level + 1

    rewritten: list[Any] = []
    slot_rank: int | None = None
    for i, obj in enumerate(window):
        rank = low + (i + 1) * (high - low) // (count + 1)
        if obj is None:
            slot_rank = rank
        elif obj.rank != rank:
            obj.rank = rank
            rewritten.append(obj)
    if rewritten:
        siblings.model.objects.bulk_update(rewritten, ["rank"])
        forget(rewritten)  # bulk_update sends no signals: tell the query cache
    assert slot_rank is not None  # the window always holds the slot
    return slot_rank


def forget(rows: list[Any]) -> None:
    """platform_core.cache.invalidate_rows for rows written where cacheops cannot
    see (bulk and raw SQL): after commit, the query-cache entries that may hold
    them go. Nothing to do (no Redis call) when the query cache does not hold
    their model (CACHEOPS without boards.*, or CACHEOPS_ENABLED off)."""
    if rows and _query_cached(type(rows[0])):
        invalidate_rows(rows)


def _query_cached(model: type[Model]) -> bool:
    return bool(settings.CACHEOPS_ENABLED and model_profile(model))
