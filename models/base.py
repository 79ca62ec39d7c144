from __future__ import annotations

from collections.abc import Callable

from tortoise import fields

from core.security import new_id


def _id_factory(prefix: str) -> Callable[[], str]:
    """A named, importable default (migrations refer to defaults by module and name)."""
    def factory() -> str:
        return new_id(prefix)

    name = f"new_{prefix}_id"
    factory.__name__ = factory.__qualname__ = name
    globals()[name] = factory
    return factory


def id_field(prefix: str) -> fields.CharField:
    """A public, prefixed, random primary key (`pi_…`, `evt_…`)."""
    return fields.CharField(primary_key=True, max_length=40, default=_id_factory(prefix))
