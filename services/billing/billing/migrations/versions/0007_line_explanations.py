"""line explanations (issue #12): how each invoice line's price was computed, stored with the line

Revision ID: 0007_line_explanations
Revises: 0006_scheduled_runs
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_line_explanations'
down_revision = '0006_scheduled_runs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_column('explanation')
