"""Initial records schema: inquiries, alerts and their lifecycle, misstatements, compliance.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the first five tables."""
    op.create_table(
        "inquiries",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("sku", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("after_sales", sa.Boolean, nullable=False),
        sa.Column("score", sa.Double, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("user_hash", sa.Text),
        sa.Column("source_ts", sa.Double, nullable=False),
        sa.Column("received_ts", sa.Double, nullable=False),
        sa.Column("faq_question", sa.Text),
        sa.Column("faq_reply", sa.Text),
        sa.Column("paid", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_inquiries"),
    )
    op.create_index("ix_inquiries_room_source_ts", "inquiries", ["room", "source_ts"])
    op.create_index("ix_inquiries_received_ts", "inquiries", ["received_ts"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("sku", sa.Text),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.Double, nullable=False),
        sa.Column("last_seen", sa.Double, nullable=False),
        sa.Column("source_ts", sa.Double, nullable=False),
        sa.Column("received_ts", sa.Double),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("team", sa.Text),
        sa.Column("assignee", sa.Text),
        sa.Column("acked_by", sa.Text),
        sa.Column("acked_at", sa.Double),
        sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
        sa.Column("escalated_at", sa.Double),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", sa.Double),
        sa.Column("false_positive", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("group_key", sa.Text, nullable=False, server_default=""),
        sa.Column("faq_question", sa.Text),
        sa.Column("suggested_reply", sa.Text),
        sa.Column("correction", sa.Text),
        sa.Column("examples", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_room_source_ts", "alerts", ["room", "source_ts"])
    op.create_index("ix_alerts_updated_at", "alerts", ["updated_at"])
    op.create_table(
        "alert_events",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("team", sa.Text),
        sa.Column("assignee", sa.Text),
        sa.Column("acked_by", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.UniqueConstraint("alert_id", "version", name="uq_alert_events_alert_id_version"),
    )
    op.create_table(
        "misstatements",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("sku", sa.Text),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("claimed", sa.Text, nullable=False, server_default=""),
        sa.Column("expected", sa.Text, nullable=False, server_default=""),
        sa.Column("evidence", sa.Text, nullable=False, server_default=""),
        sa.Column("correction", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("group_key", sa.Text, nullable=False, server_default=""),
        sa.Column("source_ts", sa.Double, nullable=False),
        sa.Column("received_ts", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_misstatements"),
    )
    op.create_index("ix_misstatements_room_source_ts", "misstatements", ["room", "source_ts"])
    op.create_index("ix_misstatements_received_ts", "misstatements", ["received_ts"])
    op.create_table(
        "compliance",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("sku", sa.Text),
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source_ts", sa.Double, nullable=False),
        sa.Column("received_ts", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance"),
    )
    op.create_index("ix_compliance_room_source_ts", "compliance", ["room", "source_ts"])
    op.create_index("ix_compliance_received_ts", "compliance", ["received_ts"])


def downgrade() -> None:
    """Drop everything."""
    for table in ("compliance", "misstatements", "alert_events", "alerts", "inquiries"):
        op.drop_table(table)
