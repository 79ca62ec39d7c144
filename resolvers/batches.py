"""Helpers for DataLoaders: one query for many parents, answered in the parents' order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def grouped(parent_ids: list[str], rows: Iterable[T], parent_of: Callable[[T], str]
            ) -> list[list[T]]:
    """The rows of each parent, in the order of `parent_ids` (empty lists for none)."""
    by_parent: dict[str, list[T]] = {parent_id: [] for parent_id in parent_ids}
    for row in rows:
        by_parent[parent_of(row)].append(row)
    return [by_parent[parent_id] for parent_id in parent_ids]
