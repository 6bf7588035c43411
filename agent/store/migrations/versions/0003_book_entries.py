"""The alert book's entries, shared by the instances of a cluster.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the book_entries table."""
    op.create_table(
        "book_entries",
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("deadline", sa.Double),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("entry", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_book_entries"),
    )
    op.create_index("ix_book_entries_room_state", "book_entries", ["room", "state"])
    op.create_index("ix_book_entries_updated_at", "book_entries", ["updated_at"])


def downgrade() -> None:
    """Back to 0002."""
    op.drop_table("book_entries")
