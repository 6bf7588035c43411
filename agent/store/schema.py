"""The records schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are epoch seconds as double precision: ``source_ts`` is the platform's time of the
triggering event, ``received_ts`` and the lifecycle times are the agent's wall clock.
Viewer ids are keyed hashes (``h:…``) and texts are PII-masked before they get here.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

inquiries = sa.Table(
    "inquiries",
    metadata,
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
    sa.Index(None, "room", "source_ts"),
    sa.Index(None, "user_hash"),
    sa.Index(None, "received_ts"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Text, primary_key=True),
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
    sa.Index(None, "room", "source_ts"),
    sa.Index(None, "updated_at"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
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
    sa.UniqueConstraint("alert_id", "version"),
)

misstatements = sa.Table(
    "misstatements",
    metadata,
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
    # Revision 0002: when the host was heard correcting it, or staff resolved its alert.
    sa.Column("corrected_at", sa.Double),
    sa.Column("correction_source", sa.Text),
    sa.Index(None, "room", "source_ts"),
    sa.Index(None, "received_ts"),
)

compliance = sa.Table(
    "compliance",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("room", sa.Text, nullable=False),
    sa.Column("sku", sa.Text),
    sa.Column("term", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source_ts", sa.Double, nullable=False),
    sa.Column("received_ts", sa.Double, nullable=False),
    sa.Index(None, "room", "source_ts"),
    sa.Index(None, "received_ts"),
)

# Revision 0002: which sink delivered which alert version, and when.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sink", sa.Text, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=False),
    sa.UniqueConstraint("alert_id", "version", "sink"),
)

# Revision 0003: the alert book's entries (an alert with its assignee, escalation deadline and
# paged ladder) mirrored by the instance holding them, so the instance that takes a room
# over continues its open alerts. ``(version, revision)`` only ever grows per alert.
book_entries = sa.Table(
    "book_entries",
    metadata,
    sa.Column("alert_id", sa.Text, primary_key=True),
    sa.Column("room", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("deadline", sa.Double),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("entry", sa.JSON, nullable=False),
    sa.Index(None, "room", "state"),
    sa.Index(None, "updated_at"),
)

TABLES: tuple[sa.Table, ...] = (
    inquiries, alerts, alert_events, misstatements, compliance, alert_deliveries, book_entries,
)  # fmt: skip
