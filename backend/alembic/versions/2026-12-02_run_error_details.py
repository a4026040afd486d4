"""a failed run keeps its error's details (e.g. a refused model request's status and message)

Revision ID: 0009_run_error_details
Revises: 0008_sign_in_codes
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_run_error_details"
down_revision: str | None = "0008_sign_in_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agent_execution",
        sa.Column("error_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("agent_execution", "error_details")
