"""health flags (issue #12): the allergy flags of identity's health records, shown on the agents' lists

Revision ID: 0005_health_flags
Revises: 0003_scheduled_runs
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0005_health_flags'
down_revision = '0004_family_trail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('health_flags',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('allergies', sa.String(length=300), nullable=False),
    sa.Column('has_treatment', sa.Boolean(), nullable=False),
    sa.Column('updated_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('child_id', name=op.f('pk_health_flags'))
    )


def downgrade():
    op.drop_table('health_flags')
