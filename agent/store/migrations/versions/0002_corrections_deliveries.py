"""Time to correction of misstatements, alert deliveries per sink, lookup of a viewer's rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the correction columns, the deliveries table and the user-hash index."""
    with op.batch_alter_table("misstatements") as batch:
        batch.add_column(sa.Column("corrected_at", sa.Double))
        batch.add_column(sa.Column("correction_source", sa.Text))
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sink", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.UniqueConstraint(
            "alert_id", "version", "sink", name="uq_alert_deliveries_alert_id_version_sink"
        ),
    )
    op.create_index("ix_inquiries_user_hash", "inquiries", ["user_hash"])


def downgrade() -> None:
    """Back to 0001."""
    op.drop_index("ix_inquiries_user_hash", table_name="inquiries")
    op.drop_table("alert_deliveries")
    with op.batch_alter_table("misstatements") as batch:
        batch.drop_column("correction_source")
        batch.drop_column("corrected_at")
