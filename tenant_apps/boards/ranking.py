"""Gapped integer ranks: the order of lists in a board and of tasks in a list.

Placing an item at a 0-based position reads the (at most two) neighbours at
that position and takes the midpoint of their ranks: one row written. Only
when two neighbours have consecutive ranks is the whole container renumbered
(`GAP` apart, one UPDATE), which leaves room for about log2(GAP) further
inserts at the same spot before the next renumbering.

Callers hold a lock on the container row (the board for lists, the list for
tasks) for the whole transaction, so two placements in one container are
serialised; the unique (container, rank) constraint is the safety net.
"""

from django.db.models import Model, QuerySet

from platform_core.cache import invalidate_rows

GAP = 1024


def clamp(position: int | None, size: int) -> int:
    """Insert position within [0, size]; None means the end."""
    if position is None:
        return size
    return max(0, min(position, size))


def place(siblings: QuerySet, item: Model, position: int | None) -> tuple[int, int]:
    """Where `item` goes among `siblings` (the container's items; `item` itself is ignored).

    Returns the clamped position and a free rank between its neighbours there.
    When no rank is free, renumbers the other items (one UPDATE) around a slot
    for `item`. The caller writes `item.rank`.
    """
    siblings = siblings.exclude(pk=item.pk).order_by("rank")
    size = siblings.count()
    index = clamp(position, size)
    start = max(index - 1, 0)
    neighbours = list(siblings.values_list("rank", flat=True)[start : index + 1])
    before = neighbours[0] if index > 0 else None
    after = neighbours[-1] if index < size else None

    if before is None and after is None:
        return index, GAP
    if after is None:
        return index, before + GAP
    if before is None:
        return index, after - GAP
    if after - before > 1:
        return index, (before + after) // 2
    return index, renumber(siblings, index)


def renumber(siblings: QuerySet, index: int) -> int:
    """Rewrite the ranks of `siblings` GAP apart, leaving a free slot at `index`; return its rank."""
    ordered = list(siblings.order_by("rank"))  # whole rows: the cache invalidates by their fields
    for i, obj in enumerate(ordered):
        obj.rank = (i + 1 + (i >= index)) * GAP
    siblings.model.objects.bulk_update(ordered, ["rank"])
    invalidate_rows(ordered)  # bulk_update sends no signals: tell the query cache
    return (index + 1) * GAP
