"""wallet_documents, wallet_document_reads, wallet_reminders: the document wallet (issue #12)

Revision ID: 0009_document_wallet
Revises: 0006_scheduled_runs
"""
import sqlalchemy as sa
from alembic import op

from espace_common.db import UTCDateTime

revision = '0009_document_wallet'
down_revision = '0008_health_records'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wallet_documents',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('uploaded_at', UTCDateTime(), nullable=False),
        sa.Column('uploaded_by', sa.String(length=80), nullable=False),
        sa.Column('document_name', sa.String(length=200), nullable=False),
        sa.Column('document_type', sa.String(length=40), nullable=False),
        sa.Column('document_path', sa.String(length=300), nullable=False),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('superseded_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_wallet_documents_family_id_families')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_documents')),
    )
    op.create_index(op.f('ix_wallet_documents_family_id'), 'wallet_documents', ['family_id'], unique=False)
    op.create_index('ix_wallet_documents_status', 'wallet_documents', ['status', 'uploaded_at'], unique=False)
    op.create_table(
        'wallet_document_reads',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('reader', sa.String(length=80), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['wallet_documents.id'],
                                name=op.f('fk_wallet_document_reads_document_id_wallet_documents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_document_reads')),
    )
    op.create_index(op.f('ix_wallet_document_reads_document_id'), 'wallet_document_reads', ['document_id'],
                    unique=False)
    op.create_table(
        'wallet_reminders',
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['wallet_documents.id'],
                                name=op.f('fk_wallet_reminders_document_id_wallet_documents')),
        sa.PrimaryKeyConstraint('document_id', 'kind', name=op.f('pk_wallet_reminders')),
    )


def downgrade():
    op.drop_table('wallet_reminders')
    op.drop_table('wallet_document_reads')
    op.drop_index('ix_wallet_documents_status', table_name='wallet_documents')
    op.drop_table('wallet_documents')
