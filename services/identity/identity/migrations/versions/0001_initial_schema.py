"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:51:22.012351
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('username_folded', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('username_folded', name='uq_agents_username_folded')
    )
    op.create_table('children',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_children'))
    )
    op.create_table('counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('families',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dossier', sa.String(length=12), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_families')),
    sa.UniqueConstraint('dossier', name=op.f('uq_families_dossier')),
    sa.UniqueConstraint('request_id', name=op.f('uq_families_request_id'))
    )
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
    op.create_table('family_children',
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_family_children_child_id_children')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_children_family_id_families')),
    sa.PrimaryKeyConstraint('family_id', 'child_id', name=op.f('pk_family_children'))
    )
    op.create_table('representatives',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('address_line1', sa.String(length=200), nullable=False),
    sa.Column('address_line2', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('caf_number', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_representatives_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_representatives'))
    )
    with op.batch_alter_table('representatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_representatives_family_id'), ['family_id'], unique=False)



def downgrade():
    with op.batch_alter_table('representatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_representatives_family_id'))

    op.drop_table('representatives')
    op.drop_table('family_children')
    op.drop_table('processed_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox')
    op.drop_table('families')
    op.drop_table('counters')
    op.drop_table('children')
    op.drop_table('agents')
