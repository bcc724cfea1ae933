"""keys accounts tokens audit mail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:16:08.912725
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_clients',
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_api_clients'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('client_ip', sa.String(length=45), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_account_id'), ['account_id'], unique=False)

    op.create_table('auth_tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('subject_kind', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('client_ip', sa.String(length=45), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_auth_tokens'))
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_auth_tokens_subject', ['subject_kind', 'subject_id'], unique=False)

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
    op.create_table('throttles',
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('locked_until', espace_common.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_throttles'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('representative_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('username_folded', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_folded', sa.String(length=254), nullable=False),
    sa.Column('email_confirmed', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_accounts_family_id_families')),
    sa.ForeignKeyConstraint(['representative_id'], ['representatives.id'], name=op.f('fk_accounts_representative_id_representatives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('representative_id', name=op.f('uq_accounts_representative_id')),
    sa.UniqueConstraint('username_folded', name='uq_accounts_username_folded')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_email_folded'), ['email_folded'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_family_id'), ['family_id'], unique=False)

    op.create_table('activation_keys',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('representative_id', sa.String(length=36), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=36), nullable=True),
    sa.Column('expires_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('letter', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['representative_id'], ['representatives.id'], name=op.f('fk_activation_keys_representative_id_representatives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_keys')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_activation_keys_key_digest'))
    )
    with op.batch_alter_table('activation_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_keys_representative_id'), ['representative_id'], unique=False)

    op.create_table('link_tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_link_tokens_account_id_accounts')),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_link_tokens'))
    )
    with op.batch_alter_table('link_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_tokens_account_id'), ['account_id'], unique=False)



def downgrade():
    with op.batch_alter_table('link_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_tokens_account_id'))

    op.drop_table('link_tokens')
    with op.batch_alter_table('activation_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_keys_representative_id'))

    op.drop_table('activation_keys')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_family_id'))
        batch_op.drop_index(batch_op.f('ix_accounts_email_folded'))

    op.drop_table('accounts')
    op.drop_table('throttles')
    op.drop_table('mail_outbox')
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_tokens_subject')

    op.drop_table('auth_tokens')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_account_id'))

    op.drop_table('audit_events')
    op.drop_table('api_clients')
