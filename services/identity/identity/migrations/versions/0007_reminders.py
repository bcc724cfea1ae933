"""reminders (issue #12): each account's reminder opt-in, and each reminder sent once per (account, kind, subject)

Revision ID: 0007_reminders
Revises: 0006_scheduled_runs
Create Date: 2026-12-02 10:30:00
"""
import sqlalchemy as sa
from alembic import op

from espace_common.db import UTCDateTime

revision = '0007_reminders'
down_revision = '0006_scheduled_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder_preferences',
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('canteen_deadline', sa.Boolean(), nullable=False),
        sa.Column('invoice_due', sa.Boolean(), nullable=False),
        sa.Column('changed_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_reminder_preferences_account_id_accounts')),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_reminder_preferences')),
    )
    op.create_table(
        'reminders_sent',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=60), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reminders_sent_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders_sent')),
        sa.UniqueConstraint('account_id', 'kind', 'subject', name='uq_reminders_sent_account_kind_subject'),
    )
    op.create_index(op.f('ix_reminders_sent_family_id'), 'reminders_sent', ['family_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_reminders_sent_family_id'), table_name='reminders_sent')
    op.drop_table('reminders_sent')
    op.drop_table('reminder_preferences')
