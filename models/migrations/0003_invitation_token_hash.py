"""Invitation tokens are kept only as their SHA-256 (CONTRACT §12.2): the column is renamed
and every token already stored is replaced by its hash, so none stays readable and pending
invitations can still be accepted with the token that was sent."""

import hashlib

from tortoise import migrations
from tortoise.migrations import operations as ops


async def hash_stored_tokens(apps, schema_editor) -> None:
    client = schema_editor.client
    mark = "$1" if client.capabilities.dialect == "postgres" else "?"
    other = "$2" if mark == "$1" else "?"
    rows = await client.execute_query_dict("SELECT id, token_hash FROM invitations")
    for row in rows:
        digest = hashlib.sha256(row["token_hash"].encode()).hexdigest()
        await client.execute_query(
            f"UPDATE invitations SET token_hash = {mark} WHERE id = {other}",
            [digest, row["id"]])


class Migration(migrations.Migration):
    dependencies = [('models', '0002_partial_sweep_indexes')]

    initial = False

    operations = [
        ops.RenameField(
            model_name='Invitation',
            old_name='token',
            new_name='token_hash',
        ),
        ops.RunPython(hash_stored_tokens),
    ]
