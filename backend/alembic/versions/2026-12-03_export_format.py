"""exports: the layout an archive is packed in (jeex, agents, spec-kit, kiro, openspec)

Revision ID: 0010_export_format
Revises: 0009_run_error_details
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_export_format"
down_revision: str | None = "0009_run_error_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every export made before had the only layout there was.
    op.add_column(
        "export",
        sa.Column("format", sa.String(length=16), server_default=sa.text("'jeex'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("export_format_check"),
        "export",
        "format IN ('jeex', 'agents', 'spec-kit', 'kiro', 'openspec')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("export_format_check"), "export", type_="check")
    op.drop_column("export", "format")
