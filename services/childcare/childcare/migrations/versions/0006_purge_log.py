"""purge_log (issue #12, the family's data in its hands): what each daily retention purge removed, per kind

Revision ID: 0006_purge_log
Revises: 0003_scheduled_runs
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0006_purge_log'
down_revision = '0005_health_flags'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('purge_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('cutoff', sa.String(length=40), nullable=True),
    sa.Column('at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purge_log')),
    sa.UniqueConstraint('slot', 'kind', name='uq_purge_log_slot_kind')
    )


def downgrade():
    op.drop_table('purge_log')
