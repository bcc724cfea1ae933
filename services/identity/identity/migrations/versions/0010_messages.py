"""messages to the service (issue #12): conversations, their messages and who read their attachments

Revision ID: 0010_messages
Revises: 0006_scheduled_runs
"""
import sqlalchemy as sa
from alembic import op

from espace_common.db import UTCDateTime

revision = '0010_messages'
down_revision = '0009_document_wallet'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'conversations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=False),
        sa.Column('service', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('child_id', sa.String(length=36), nullable=True),
        sa.Column('invoice_id', sa.String(length=36), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_message_at', UTCDateTime(), nullable=False),
        sa.Column('agent_read_at', UTCDateTime(), nullable=True),
        sa.Column('family_read_at', UTCDateTime(), nullable=True),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('closed_by', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_conversations_family_id_families')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    )
    op.create_index(op.f('ix_conversations_family_id'), 'conversations', ['family_id'], unique=False)
    op.create_index(op.f('ix_conversations_closed_at'), 'conversations', ['closed_at'], unique=False)
    op.create_index('ix_conversations_service_state', 'conversations', ['service', 'state'], unique=False)
    op.create_table(
        'messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('author_kind', sa.String(length=10), nullable=False),
        sa.Column('author_id', sa.String(length=36), nullable=False),
        sa.Column('author_name', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('request_id', sa.String(length=80), nullable=True),
        sa.Column('attachment_name', sa.String(length=150), nullable=True),
        sa.Column('attachment_type', sa.String(length=40), nullable=True),
        sa.Column('attachment_path', sa.String(length=80), nullable=True),
        sa.Column('attachment_size', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_messages_conversation_id_conversations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
        sa.UniqueConstraint('author_kind', 'author_id', 'request_id', name='uq_messages_request'),
    )
    op.create_index(op.f('ix_messages_conversation_id'), 'messages', ['conversation_id'], unique=False)
    op.create_table(
        'message_attachment_reads',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=36), nullable=False),
        sa.Column('reader', sa.String(length=80), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_message_attachment_reads_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachment_reads')),
    )
    op.create_index(op.f('ix_message_attachment_reads_message_id'), 'message_attachment_reads', ['message_id'],
                    unique=False)


def downgrade():
    op.drop_table('message_attachment_reads')
    op.drop_table('messages')
    op.drop_table('conversations')
