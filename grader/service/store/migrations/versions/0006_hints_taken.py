"""hints taken: each hint a learner asked for, recorded for their instructors"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hints_taken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "problem", "number"),
    )
    with op.batch_alter_table("hints_taken", schema=None) as batch_op:
        batch_op.create_index("ix_hints_taken_problem", ["problem"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hints_taken", schema=None) as batch_op:
        batch_op.drop_index("ix_hints_taken_problem")
    op.drop_table("hints_taken")
