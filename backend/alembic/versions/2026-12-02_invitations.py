"""project invitations: a role offered to an e-mail address, answered by its holder

Revision ID: 0007_invitations
Revises: 0006_conversation_protocol
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_invitations"
down_revision: str | None = "0006_conversation_protocol"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_invitation",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey(
                "project.id", ondelete="CASCADE", name=op.f("project_invitation_project_id_fkey")
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column(
            "invited_by",
            sa.Uuid(),
            sa.ForeignKey(
                "user.id", ondelete="SET NULL", name=op.f("project_invitation_invited_by_fkey")
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("project_invitation_pkey")),
        sa.CheckConstraint(
            "role IN ('owner', 'editor', 'viewer')", name=op.f("project_invitation_role_check")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined')",
            name=op.f("project_invitation_status_check"),
        ),
    )
    op.create_index(
        "project_invitation_pending_key",
        "project_invitation",
        ["project_id", "email"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("project_invitation_email_idx", "project_invitation", ["email"])


def downgrade() -> None:
    op.drop_table("project_invitation")
