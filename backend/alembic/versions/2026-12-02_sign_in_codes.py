"""sign-in codes: single-use local sign-in in development, kept as SHA-256 hashes

Revision ID: 0008_sign_in_codes
Revises: 0007_invitations
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sign_in_codes"
down_revision: str | None = "0007_invitations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user.id", ondelete="CASCADE", name=op.f("sign_in_code_user_id_fkey")),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("sign_in_code_pkey")),
    )
    op.create_index("sign_in_code_user_id_idx", "sign_in_code", ["user_id"])
    op.create_index("sign_in_code_expires_at_idx", "sign_in_code", ["expires_at"])


def downgrade() -> None:
    op.drop_table("sign_in_code")
