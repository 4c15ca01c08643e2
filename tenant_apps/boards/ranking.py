"""Gapped integer ranks: the order of lists in a board and of tasks in a list.

Placing an item at a 0-based position reads the (at most two) neighbours at
that position and takes a rank between them: one row written. Appending
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

from typing import Any

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


def place(
    siblings: QuerySet[Any], item: Model, position: int | None, *, capacity: int | None = None
) -> tuple[int, int]:
    """Where `item` goes among `siblings` (the container's items; `item` itself is ignored).

    Returns the clamped position and a free rank between its neighbours there.
    When no rank is free, renumbers a window of neighbours (one UPDATE) around
    a slot for `item`. The caller writes `item.rank`. With `capacity`, raises
    Full when the container already holds that many other items.
    """
    # cacheops adds QuerySet.nocache (unknown to django-stubs).
    siblings = siblings.nocache().exclude(pk=item.pk).order_by("rank")  # type: ignore[attr-defined]
    size = siblings.count()
    if capacity is not None and size >= capacity:
        raise Full(capacity)
    index = clamp(position, size)
    start = max(index - 1, 0)
    neighbours: list[int] = list(siblings.values_list("rank", flat=True)[start : index + 1])
    before = neighbours[0] if index > 0 else None
    after = neighbours[-1] if index < size else None

    if before is None and after is None:
        return index, GAP
    # (`before` and `after` are not both None past this point.)
    if after is None and before is not None and before + GAP <= HIGH:
        return index, before + GAP
    if before is None and after is not None and after - GAP >= LOW:
        return index, after - GAP
    if before is not None and after is not None and after - before > 1:
        return index, (before + after) // 2
    return index, rebalance(siblings, index, size, before, after)


def rebalance(
    siblings: QuerySet[Any], index: int, size: int, before: int | None, after: int | None
) -> int:
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
        invalidate_rows(rewritten)  # bulk_update sends no signals: tell the query cache
    assert slot_rank is not None  # the window always holds the slot
    return slot_rank
