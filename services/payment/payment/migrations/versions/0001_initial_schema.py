"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:51:24.230714
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox',
    sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('published_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['published_at', 'position'], unique=False)

    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('handler', sa.String(length=160), nullable=False),
    sa.Column('processed_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'handler', name=op.f('pk_processed_events'))
    )


def downgrade():
    op.drop_table('processed_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox')
