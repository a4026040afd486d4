"""traceability: item ids given out per project, each version's items, stale marks

Revision ID: 0011_traceability
Revises: 0010_export_format
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_traceability"
down_revision: str | None = "0010_export_format"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT_TYPES = "document_type IN ('idea', 'specs', 'architecture', 'plan')"


def _project_id(table: str) -> sa.Column[sa.Uuid]:
    return sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey("project.id", ondelete="CASCADE", name=op.f(f"{table}_project_id_fkey")),
        nullable=False,
    )


def upgrade() -> None:
    # Versions written before carry no items; their next version gives the items ids.
    op.add_column(
        "document_version",
        sa.Column(
            "trace_items",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.create_table(
        "trace_item",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        _project_id("trace_item"),
        sa.Column("item_id", sa.String(length=8), nullable=False),
        sa.Column("document_type", sa.String(length=16), nullable=False),
        sa.Column("created_version", sa.Integer(), nullable=False),
        sa.Column("retired_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("trace_item_pkey")),
        sa.UniqueConstraint("project_id", "item_id", name="trace_item_id_key"),
        sa.CheckConstraint(_DOCUMENT_TYPES, name=op.f("trace_item_document_type_check")),
        sa.CheckConstraint(
            "item_id ~ '^[GRCDTM]-[1-9][0-9]{0,5}$'", name=op.f("trace_item_item_id_format_check")
        ),
    )
    op.create_table(
        "trace_stale",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        _project_id("trace_stale"),
        sa.Column("item_id", sa.String(length=8), nullable=False),
        sa.Column("document_type", sa.String(length=16), nullable=False),
        sa.Column("cause_document_type", sa.String(length=16), nullable=False),
        sa.Column("cause_version", sa.Integer(), nullable=False),
        sa.Column("cause_items", postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("trace_stale_pkey")),
        sa.UniqueConstraint("project_id", "item_id", name="trace_stale_item_key"),
        sa.CheckConstraint(_DOCUMENT_TYPES, name=op.f("trace_stale_document_type_check")),
        sa.CheckConstraint(
            "cause_document_type IN ('idea', 'specs', 'architecture', 'plan')",
            name=op.f("trace_stale_cause_document_type_check"),
        ),
    )


def downgrade() -> None:
    op.drop_table("trace_stale")
    op.drop_table("trace_item")
    op.drop_column("document_version", "trace_items")
