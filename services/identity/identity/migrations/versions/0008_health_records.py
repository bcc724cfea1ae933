"""health records and their reads (issue #12): a child's «fiche sanitaire», every agent's read recorded

Revision ID: 0008_health_records
Revises: 0006_scheduled_runs
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0008_health_records'
down_revision = '0007_reminders'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('health_records',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('allergies', sa.String(length=300), nullable=False),
    sa.Column('treatment', sa.String(length=1000), nullable=False),
    sa.Column('doctor_name', sa.String(length=100), nullable=False),
    sa.Column('doctor_phone', sa.String(length=20), nullable=False),
    sa.Column('vaccinations_up_to_date', sa.Boolean(), nullable=False),
    sa.Column('authorised_persons', sa.JSON(), nullable=False),
    sa.Column('emergency_contacts', sa.JSON(), nullable=False),
    sa.Column('updated_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_health_records_child_id_children')),
    sa.PrimaryKeyConstraint('child_id', name=op.f('pk_health_records'))
    )
    op.create_table('health_record_reads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.Column('agent_username', sa.String(length=80), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_record_reads'))
    )
    with op.batch_alter_table('health_record_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_health_record_reads_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_health_record_reads_child_id'), ['child_id'], unique=False)


def downgrade():
    with op.batch_alter_table('health_record_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_health_record_reads_child_id'))
        batch_op.drop_index(batch_op.f('ix_health_record_reads_at'))
    op.drop_table('health_record_reads')
    op.drop_table('health_records')
