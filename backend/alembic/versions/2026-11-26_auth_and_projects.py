"""sign-in identities, refresh and personal tokens, projects and their members

Revision ID: 0002_auth_and_projects
Revises: 0001_create_user
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_auth_and_projects"
down_revision: str | None = "0001_create_user"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("uuidv7()"), nullable=False)


def _user_fk() -> sa.Column[object]:
    return sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "user_identity",
        _id(),
        _user_fk(),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("user_identity_pkey")),
        sa.UniqueConstraint("provider", "subject", name=op.f("user_identity_subject_key")),
    )
    op.create_index(op.f("user_identity_user_id_idx"), "user_identity", ["user_id"])

    op.create_table(
        "refresh_token",
        _id(),
        _user_fk(),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("refresh_token_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("refresh_token_token_hash_key")),
    )
    op.create_index(op.f("refresh_token_user_id_idx"), "refresh_token", ["user_id"])
    op.create_index(op.f("refresh_token_family_id_idx"), "refresh_token", ["family_id"])

    op.create_table(
        "personal_access_token",
        _id(),
        _user_fk(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("personal_access_token_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("personal_access_token_token_hash_key")),
    )
    op.create_index(op.f("personal_access_token_user_id_idx"), "personal_access_token", ["user_id"])

    op.create_table(
        "project",
        _id(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("project_pkey")),
    )

    op.create_table(
        "project_member",
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _user_fk(),
        sa.Column("role", sa.String(length=16), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("project_member_pkey")),
        sa.CheckConstraint(
            "role IN ('owner', 'editor', 'viewer')", name=op.f("project_member_role_check")
        ),
    )
    op.create_index(op.f("project_member_user_id_idx"), "project_member", ["user_id"])


def downgrade() -> None:
    op.drop_table("project_member")
    op.drop_table("project")
    op.drop_table("personal_access_token")
    op.drop_table("refresh_token")
    op.drop_table("user_identity")
