"""attendance sheets

That a school's attendance was taken for a day is a fact of its own: when nobody ate, no attendance row
says so, and the agents' page kept announcing that the attendance was still to be taken.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from espace_common.db import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attendance_sheets',
        sa.Column('school_id', sa.String(length=36), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('school_id', 'day'),
    )
    # The days already taken with at least one meal eaten were taken: say so.
    op.execute("""
        INSERT INTO attendance_sheets (school_id, day, recorded_at)
        SELECT school_id, day, MAX(recorded_at) FROM attendance GROUP BY school_id, day
    """)


def downgrade():
    op.drop_table('attendance_sheets')
