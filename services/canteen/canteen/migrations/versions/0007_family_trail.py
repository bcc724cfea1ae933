"""the family's trail (issue #12): an append-only table of the changes to a family's meals and absences

The database refuses every UPDATE of an entry (a trigger, SQLite and PostgreSQL); DELETE is left to the
retention purge.

Revision ID: 0007_family_trail
Revises: 0006_scheduled_runs
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db
from espace_common import trail


revision = '0007_family_trail'
down_revision = '0006_scheduled_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('family_trail',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=True),
    sa.Column('at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('actor_kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.String(length=80), nullable=False),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('entry_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_trail')),
    sa.UniqueConstraint('entry_key', name=op.f('uq_family_trail_entry_key'))
    )
    op.create_index('ix_family_trail_family_at', 'family_trail', ['family_id', 'at'], unique=False)
    trail.create_trigger(op)


def downgrade():
    trail.drop_trigger(op)
    op.drop_index('ix_family_trail_family_at', table_name='family_trail')
    op.drop_table('family_trail')
