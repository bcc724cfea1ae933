"""agent_actions: the agents' journal (who did what to which family, when), one row per action id

Revision ID: 0005_agent_actions
Revises: 0004_family_search_terms
Create Date: 2026-12-02 05:00:00
"""
import sqlalchemy as sa
from alembic import op

from espace_common.db import UTCDateTime

revision = '0005_agent_actions'
down_revision = '0004_family_search_terms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'agent_actions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('agent_id', sa.String(length=36), nullable=False),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_actions')),
    )
    op.create_index(op.f('ix_agent_actions_agent_id'), 'agent_actions', ['agent_id'], unique=False)
    op.create_index(op.f('ix_agent_actions_family_id'), 'agent_actions', ['family_id'], unique=False)
    op.create_index(op.f('ix_agent_actions_at'), 'agent_actions', ['at'], unique=False)


def downgrade():
    op.drop_table('agent_actions')
