"""scheduled runs and the mail relay's claims (issue #12): a scheduled task runs once per slot, a mail is sent by one replica

Revision ID: 0003_scheduled_runs
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0003_scheduled_runs'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_runs',
    sa.Column('task', sa.String(length=80), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('started_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('lease_until', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('task', 'slot', name=op.f('pk_scheduled_runs'))
    )

    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', espace_common.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
    op.drop_table('scheduled_runs')
