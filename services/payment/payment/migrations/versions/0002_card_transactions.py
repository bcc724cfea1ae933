"""card transactions and the receipts' mail outbox (issue #10)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_transactions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=250), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('invoice_number', sa.String(length=40), nullable=True),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('payer_email', sa.String(length=80), nullable=False),
    sa.Column('server_url', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=5), nullable=True),
    sa.Column('message', sa.String(length=300), nullable=True),
    sa.Column('authorization', sa.String(length=20), nullable=True),
    sa.Column('paybox_transaction', sa.String(length=20), nullable=True),
    sa.Column('call_number', sa.String(length=20), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('notified_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('paid_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_transactions')),
    sa.UniqueConstraint('reference', name=op.f('uq_card_transactions_reference'))
    )
    with op.batch_alter_table('card_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_card_transactions_status_paid_at', ['status', 'paid_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_transactions_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_transactions_family_id'), ['family_id'], unique=False)

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


def downgrade():
    op.drop_table('mail_outbox')
    with op.batch_alter_table('card_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_transactions_family_id'))
        batch_op.drop_index(batch_op.f('ix_card_transactions_invoice_id'))
        batch_op.drop_index('ix_card_transactions_status_paid_at')
    op.drop_table('card_transactions')
