"""the online invoice: billing preferences, each invoice's delivery and notice, paper batches, the mail outbox

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 23:50:00
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_preferences',
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('paperless', sa.Boolean(), nullable=False),
    sa.Column('changed_by', sa.String(length=80), nullable=True),
    sa.Column('changed_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('family_id', name=op.f('pk_billing_preferences'))
    )
    op.create_table('paper_batches',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('pdf_path', sa.String(length=300), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('made_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['invoicing_runs.id'], name=op.f('fk_paper_batches_run_id_invoicing_runs')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_paper_batches'))
    )
    op.create_table('mail_outbox',
    sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_mail_outbox'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('notified_at', espace_common.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('notified_at')
        batch_op.drop_column('delivery')
    op.drop_table('mail_outbox')
    op.drop_table('paper_batches')
    op.drop_table('billing_preferences')
