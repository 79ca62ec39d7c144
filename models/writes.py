"""Writes that belong together, all or none, in as few round trips as the database allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.db import is_postgres


@dataclass(frozen=True)
class Update:
    """Set `changes` on the row of `model` whose primary key is `pk`, if its columns still
    hold `expect` (a version number, say)."""

    model: type[Model]
    pk: Any
    changes: dict[str, Any]
    expect: dict[str, Any] = field(default_factory=dict)


async def write_together(*writes: Model | Update) -> None:
    """Insert new rows (unsaved models) and apply updates, atomically.

    On PostgreSQL one statement carries them all, each write but the last in a CTE: one
    round trip, where a transaction costs BEGIN, one per write and COMMIT (each round trip is
    a system call or two on either side). Elsewhere, a transaction. Values are converted by
    each model's own fields, so what is stored is what Tortoise would store; inside a
    transaction the statement joins it. Each write must touch a different row: the parts of
    one statement do not see each other's changes.
    """
    connection = _connection(writes[0])
    if not is_postgres(connection):
        async with in_transaction():
            for write in writes:
                await _write_with_tortoise(write)
        return
    values: list[Any] = []
    *earlier, last = [_statement(write, values) for write in writes]
    await connection.execute_query(_with(earlier, last), values)
    _mark_saved(writes)


async def write_if(guard: Update, *inserts: Model) -> bool:
    """Apply `guard` and insert `inserts` if the guarded row still holds `guard.expect`;
    otherwise write nothing and return False. All or none, one round trip on PostgreSQL."""
    connection = _connection(guard)
    if not is_postgres(connection):
        async with in_transaction():
            if not await _write_with_tortoise(guard):
                return False
            for row in inserts:
                await row.save(force_create=True)
        return True
    values: list[Any] = []
    ctes = [_statement(guard, values) + " RETURNING 1"]
    ctes += [_statement(row, values, only_if="EXISTS (SELECT 1 FROM w0)") for row in inserts]
    rows = await connection.execute_query_dict(
        _with(ctes, "SELECT count(*) AS written FROM w0"), values)
    _mark_saved(inserts)
    return rows[0]["written"] == 1


def _connection(write: Model | Update) -> Any:
    model = write.model if isinstance(write, Update) else type(write)
    return model._choose_db(for_write=True)


def _with(ctes: list[str], last: str) -> str:
    if not ctes:
        return last
    return "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(ctes)) + " " + last


def _mark_saved(writes: tuple[Model | Update, ...]) -> None:
    for write in writes:
        if isinstance(write, Model):
            write._saved_in_db = True


async def _write_with_tortoise(write: Model | Update) -> int:
    if isinstance(write, Update):
        return await write.model.filter(pk=write.pk, **write.expect).update(**write.changes)
    await write.save(force_create=True)
    return 1


def _statement(write: Model | Update, values: list[Any], only_if: str | None = None) -> str:
    """The write's SQL, its values appended to `values` ($n numbered on from theirs). An
    insert with `only_if` inserts nothing unless that condition holds."""
    if isinstance(write, Update):
        return _update_statement(write, values)
    meta = write._meta
    columns = ", ".join(meta.fields_db_projection.values())
    marks = ", ".join(_mark(values, meta.fields_map[name].to_db_value(getattr(write, name), write))
                      for name in meta.fields_db_projection)
    if only_if:
        return f"INSERT INTO {meta.db_table} ({columns}) SELECT {marks} WHERE {only_if}"
    return f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks})"


def _update_statement(update: Update, values: list[Any]) -> str:
    meta = update.model._meta

    def assign(changes: dict[str, Any], separator: str) -> str:
        return separator.join(
            f"{meta.fields_db_projection[name]} = "
            f"{_mark(values, meta.fields_map[name].to_db_value(value, update.model))}"
            for name, value in changes.items())

    where = f"{meta.db_pk_column} = {_mark(values, meta.pk.to_db_value(update.pk, update.model))}"
    if update.expect:
        where += " AND " + assign(update.expect, " AND ")
    return f"UPDATE {meta.db_table} SET {assign(update.changes, ', ')} WHERE {where}"


def _mark(values: list[Any], value: Any) -> str:
    values.append(value)
    return f"${len(values)}"
