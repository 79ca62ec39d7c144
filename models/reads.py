"""Reading one row by primary key, the hottest read, without Tortoise's query builder.

Building a query (pypika) costs more than the round trip it makes; the statement here is
the same each time, so the driver's prepared-statement cache serves it too. Rows become
models through Tortoise's own `_init_from_db`, exactly as its queries make them.
"""

from __future__ import annotations

from typing import TypeVar

from tortoise.models import Model

from core.validation import is_well_formed_id
from models.db import is_postgres

M = TypeVar("M", bound=Model)


async def by_pk(model: type[M], pk: str, *, for_update: bool = False) -> M | None:
    """The row, or None. `for_update` locks it until the transaction ends (PostgreSQL;
    SQLite has one writer at a time). A malformed id is no row: it never reaches the driver."""
    if not is_well_formed_id(pk):
        return None
    connection = model._choose_db(for_write=for_update)
    postgres = is_postgres(connection)
    meta = model._meta
    sql = f"SELECT * FROM {meta.db_table} WHERE {meta.db_pk_column} = {'$1' if postgres else '?'}"
    if for_update and postgres:
        sql += " FOR UPDATE"
    rows = await connection.execute_query_dict(sql, [pk])
    return model._init_from_db(**rows[0]) if rows else None
