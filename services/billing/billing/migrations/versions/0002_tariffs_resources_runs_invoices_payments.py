"""tariff grids, family resources, invoicing runs, invoices and lines, credit notes, payments, number counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:22:31.130628
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('family_resources',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('quotient', sa.Integer(), nullable=False),
    sa.Column('monthly_resources_cents', sa.Integer(), nullable=False),
    sa.Column('dependent_children', sa.Integer(), nullable=False),
    sa.Column('disability', sa.Boolean(), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_resources'))
    )
    with op.batch_alter_table('family_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_resources_family_id'), ['family_id'], unique=False)

    op.create_table('invoicing_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('regie', sa.String(length=30), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=36), nullable=True),
    sa.Column('started_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('finalized_by', sa.String(length=36), nullable=True),
    sa.Column('finalized_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'draft', 'final')", name=op.f('ck_invoicing_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoicing_runs'))
    )
    with op.batch_alter_table('invoicing_runs', schema=None) as batch_op:
        batch_op.create_index('ix_invoicing_runs_regie_month', ['regie', 'month'], unique=False)

    op.create_table('number_counters',
    sa.Column('series', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_number_counters'))
    )
    op.create_table('tariff_grids',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('regie', sa.String(length=30), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_grids')),
    sa.UniqueConstraint('regie', 'valid_from', name='uq_tariff_grids_regie_from')
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('regie', sa.String(length=30), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('paid_cents', sa.Integer(), nullable=False),
    sa.Column('credited_cents', sa.Integer(), nullable=False),
    sa.Column('balance_cents', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('finalized_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.Column('pdf_path', sa.String(length=300), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'issued', 'partially_paid', 'paid', 'cancelled')", name=op.f('ck_invoices_status')),
    sa.CheckConstraint('total_cents >= 0 AND paid_cents >= 0 AND credited_cents >= 0 AND balance_cents >= 0 AND balance_cents = total_cents - paid_cents - credited_cents', name=op.f('ck_invoices_balance')),
    sa.ForeignKeyConstraint(['run_id'], ['invoicing_runs.id'], name=op.f('fk_invoices_run_id_invoicing_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('family_id', 'regie', 'period', name='uq_invoices_family_regie_period'),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_run_id'), ['run_id'], unique=False)

    op.create_table('credit_notes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_credit_notes_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number'))
    )
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_notes_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=True),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('quantity', sa.String(length=20), nullable=True),
    sa.Column('unit_price_cents', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('invoice_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.Column('received_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payments_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('external_id', name=op.f('uq_payments_external_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))

    op.drop_table('payments')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_notes_invoice_id'))

    op.drop_table('credit_notes')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_run_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_family_id'))

    op.drop_table('invoices')
    op.drop_table('tariff_grids')
    op.drop_table('number_counters')
    with op.batch_alter_table('invoicing_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_invoicing_runs_regie_month')

    op.drop_table('invoicing_runs')
    with op.batch_alter_table('family_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_resources_family_id'))

    op.drop_table('family_resources')
