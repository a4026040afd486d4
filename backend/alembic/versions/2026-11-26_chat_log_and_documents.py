"""project stages, chat log and versioned documents

Revision ID: 0003_chat_log_and_documents
Revises: 0002_auth_and_projects
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_chat_log_and_documents"
down_revision: str | None = "0002_auth_and_projects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAGES = "('idea', 'specs', 'architecture', 'plan')"


def _project_fk() -> sa.Column[object]:
    return sa.Column(
        "project_id", sa.Uuid(), sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "project",
        sa.Column(
            "current_stage", sa.String(length=16), server_default=sa.text("'idea'"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("project_current_stage_check"), "project", f"current_stage IN {_STAGES}"
    )

    op.create_table(
        "project_stage",
        _project_fk(),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'not_started'"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "stage", name=op.f("project_stage_pkey")),
        sa.CheckConstraint(f"stage IN {_STAGES}", name=op.f("project_stage_stage_check")),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'completed')",
            name=op.f("project_stage_status_check"),
        ),
    )
    # Existing projects get their four stages too.
    op.execute(
        "INSERT INTO project_stage (project_id, stage) "
        "SELECT project.id, stage.name FROM project "
        "CROSS JOIN (VALUES ('idea'), ('specs'), ('architecture'), ('plan')) AS stage(name)"
    )

    op.create_table(
        "message",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        _project_fk(),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "author_user_id",
            sa.Uuid(),
            sa.ForeignKey("user.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("author_agent", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("message_pkey")),
        sa.CheckConstraint("role IN ('user', 'agent', 'system')", name=op.f("message_role_check")),
        sa.CheckConstraint(
            "kind IN ('text', 'questions', 'section', 'notice', 'error')",
            name=op.f("message_kind_check"),
        ),
    )
    op.create_index("message_project_id_id_idx", "message", ["project_id", "id"])

    op.create_table(
        "document_version",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        _project_fk(),
        sa.Column("document_type", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "author_user_id",
            sa.Uuid(),
            sa.ForeignKey("user.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("author_agent", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column(
            "source_message_ids",
            sa.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("parent_version", sa.Integer(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("document_version_pkey")),
        sa.UniqueConstraint(
            "project_id",
            "document_type",
            "version",
            name=op.f("document_version_number_key"),
        ),
        sa.CheckConstraint(
            f"document_type IN {_STAGES}", name=op.f("document_version_document_type_check")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("document_version_version_positive_check")),
        sa.CheckConstraint(
            "(author_user_id IS NULL) <> (author_agent IS NULL)",
            name=op.f("document_version_one_author_check"),
        ),
    )


def downgrade() -> None:
    op.drop_table("document_version")
    op.drop_index("message_project_id_id_idx", table_name="message")
    op.drop_table("message")
    op.drop_table("project_stage")
    op.drop_constraint(op.f("project_current_stage_check"), "project", type_="check")
    op.drop_column("project", "current_stage")
