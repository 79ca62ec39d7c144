"""Writes that belong together, all or none, in as few round trips as the database allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction


@dataclass(frozen=True)
class Update:
    """Set `changes` on the row of `model` whose primary key is `pk`."""

    model: type[Model]
    pk: Any
    changes: dict[str, Any]


async def write_together(*writes: Model | Update) -> None:
    """Insert new rows (unsaved models) and apply updates, atomically.

    On PostgreSQL one statement carries them all, each write but the last in a CTE: one
    round trip, where a transaction costs BEGIN, one per write and COMMIT (each round trip is
    a system call or two on either side). Elsewhere, a transaction. Values are converted by
    each model's own fields, so what is stored is what Tortoise would store; inside a
    transaction the statement joins it.
    """
    model = writes[0].model if isinstance(writes[0], Update) else type(writes[0])
    connection = model._choose_db(for_write=True)
    if connection.capabilities.dialect != "postgres":
        async with in_transaction():
            for write in writes:
                await _write_with_tortoise(write)
        return
    values: list[Any] = []
    *earlier, last = [_statement(write, values) for write in writes]
    ctes = ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(earlier))
    await connection.execute_query(f"WITH {ctes} {last}" if earlier else last, values)
    for write in writes:
        if isinstance(write, Model):
            write._saved_in_db = True


async def _write_with_tortoise(write: Model | Update) -> None:
    if isinstance(write, Update):
        await write.model.filter(pk=write.pk).update(**write.changes)
    else:
        await write.save(force_create=True)


def _statement(write: Model | Update, values: list[Any]) -> str:
    """The write's SQL, its values appended to `values` ($n numbered on from theirs)."""
    if isinstance(write, Update):
        meta = write.model._meta
        assignments = [f"{meta.fields_db_projection[name]} = "
                       f"{_mark(values, meta.fields_map[name].to_db_value(value, write.model))}"
                       for name, value in write.changes.items()]
        pk = _mark(values, meta.pk.to_db_value(write.pk, write.model))
        return (f"UPDATE {meta.db_table} SET {', '.join(assignments)} "
                f"WHERE {meta.db_pk_column} = {pk}")
    meta = write._meta
    columns = list(meta.fields_db_projection.values())
    marks = [_mark(values, meta.fields_map[name].to_db_value(getattr(write, name), write))
             for name in meta.fields_db_projection]
    return f"INSERT INTO {meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"


def _mark(values: list[Any], value: Any) -> str:
    values.append(value)
    return f"${len(values)}"
