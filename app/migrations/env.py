"""Alembic environment: runs migrations over the async engine `relay migrate` passes in.

`relay.db.migrate` puts a live connection in `config.attributes["connection"]`; migrations never read
the URL themselves, so the owner-role credentials stay in one place. The caller's transaction wraps
every migration: Postgres DDL is transactional, so a failed upgrade leaves nothing half-applied.
"""

from alembic import context

from relay.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
