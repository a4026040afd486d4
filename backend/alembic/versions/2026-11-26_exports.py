"""exports: archives of a project's documents

Revision ID: 0005_exports
Revises: 0004_conversation_runs
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_exports"
down_revision: str | None = "0004_conversation_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "requested_by",
            sa.Uuid(),
            sa.ForeignKey("user.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'queued'"), nullable=False
        ),
        sa.Column("document_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("project_name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("archive_bytes", sa.BigInteger(), nullable=True),
        sa.Column("archive_sha256", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("export_pkey")),
        sa.CheckConstraint(
            "status IN ('queued', 'building', 'ready', 'failed', 'expired')",
            name=op.f("export_status_check"),
        ),
    )
    op.create_index("export_project_id_created_at_idx", "export", ["project_id", "created_at"])
    op.create_index("export_status_expires_at_idx", "export", ["status", "expires_at"])
    op.create_index("export_requested_by_idx", "export", ["requested_by"])


def downgrade() -> None:
    op.drop_index("export_requested_by_idx", table_name="export")
    op.drop_index("export_status_expires_at_idx", table_name="export")
    op.drop_index("export_project_id_created_at_idx", table_name="export")
    op.drop_table("export")
