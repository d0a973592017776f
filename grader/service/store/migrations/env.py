"""Alembic environment: runs online against the engine the service hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from grader.service.store.models import Base

cfg = context.config
engine = cfg.attributes.get("engine")
if not isinstance(engine, Engine):
    engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "")
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
