"""justification reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:43:10.691207
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_reads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('absence_id', sa.String(length=36), nullable=False),
    sa.Column('reader', sa.String(length=80), nullable=False),
    sa.Column('read_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_reads'))
    )
    with op.batch_alter_table('document_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_reads_absence_id'), ['absence_id'], unique=False)



def downgrade():
    with op.batch_alter_table('document_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_reads_absence_id'))

    op.drop_table('document_reads')
