"""Alembic environment: bmts runs migrations itself with a connection it passes in."""

from alembic import context

from bmts.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
