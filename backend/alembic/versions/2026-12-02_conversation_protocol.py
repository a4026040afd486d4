"""conversation protocol: a phase per project, a step cursor per run

Revision ID: 0006_conversation_protocol
Revises: 0005_exports
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_conversation_protocol"
down_revision: str | None = "0005_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHASES = "'awaiting_idea', 'awaiting_floor', 'awaiting_answers', 'stage_completed'"


def upgrade() -> None:
    op.add_column("agent_execution", sa.Column("step", sa.String(length=32), nullable=True))
    op.add_column(
        "agent_execution",
        sa.Column("carry", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "conversation_state",
        sa.Column(
            "phase",
            sa.String(length=32),
            server_default=sa.text("'awaiting_idea'"),
            nullable=False,
        ),
    )
    op.add_column(
        "conversation_state",
        sa.Column("stage_base_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # Existing conversations get the phase their fields describe: open questions, a completed
    # current stage, a stage in progress, or no language yet.
    op.execute(
        """
        UPDATE conversation_state AS cs SET phase = CASE
            WHEN cs.floor_agent IS NOT NULL AND cs.pending_questions IS NOT NULL
                 AND cs.questions_message_id IS NOT NULL THEN 'awaiting_answers'
            WHEN p.language IS NULL THEN 'awaiting_idea'
            WHEN ps.status = 'completed' THEN 'stage_completed'
            ELSE 'awaiting_floor' END
        FROM project AS p
        JOIN project_stage AS ps ON ps.project_id = p.id AND ps.stage = p.current_stage
        WHERE p.id = cs.project_id
        """
    )
    op.execute(
        """
        UPDATE conversation_state SET floor_agent = NULL, pending_questions = NULL,
            questions_message_id = NULL
        WHERE phase <> 'awaiting_answers'
        """
    )
    op.create_check_constraint("phase", "conversation_state", f"phase IN ({_PHASES})")
    op.create_check_constraint(
        "floor_with_questions",
        "conversation_state",
        "(phase = 'awaiting_answers') = (floor_agent IS NOT NULL"
        " AND pending_questions IS NOT NULL AND questions_message_id IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint("conversation_state_floor_with_questions_check", "conversation_state")
    op.drop_constraint("conversation_state_phase_check", "conversation_state")
    op.drop_column("conversation_state", "stage_base_version")
    op.drop_column("conversation_state", "phase")
    op.drop_column("agent_execution", "carry")
    op.drop_column("agent_execution", "step")
