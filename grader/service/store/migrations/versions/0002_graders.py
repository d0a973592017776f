"""graders' heartbeats, and each grade's latency for the metrics"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graders",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("heartbeat", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("graders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_graders_heartbeat"), ["heartbeat"], unique=False)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latency_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("grade_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("grade_s")
        batch_op.drop_column("latency_s")
    with op.batch_alter_table("graders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graders_heartbeat"))
    op.drop_table("graders")
