"""invoicing runs in the background (failure, retry, heartbeat, one open run per month), search and export indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:55:00
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN = sa.text("status != 'final'")


def upgrade():
    with op.batch_alter_table('invoicing_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_at', espace_common.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', espace_common.db.UTCDateTime(), nullable=True))
        batch_op.create_index('uq_invoicing_runs_open_month', ['regie', 'month'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_regie_period', ['regie', 'period'], unique=False)
        batch_op.create_index('ix_invoices_issued_on', ['issued_on'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_received_at', ['received_at'], unique=False)
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index('ix_credit_notes_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_notes_created_at')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_received_at')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_issued_on')
        batch_op.drop_index('ix_invoices_regie_period')
    with op.batch_alter_table('invoicing_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_invoicing_runs_open_month')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('error')
