"""one absence per child and period

The same absence reported twice (a double tap, a retried request) is one row: a unique key on
(child, first day, last day) lets the database settle two reports racing each other. Duplicates
already stored are folded first, keeping the one that carries a justification, else the first reported.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        DELETE FROM absences WHERE EXISTS (
            SELECT 1 FROM absences AS kept
            WHERE kept.child_id = absences.child_id AND kept."start" = absences."start"
              AND kept."end" = absences."end" AND kept.id <> absences.id
              AND ((kept.document_path IS NOT NULL AND absences.document_path IS NULL)
                   OR ((kept.document_path IS NULL) = (absences.document_path IS NULL)
                       AND (kept.reported_at < absences.reported_at
                            OR (kept.reported_at = absences.reported_at AND kept.id < absences.id)))))
    """)
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_absences_child_period', ['child_id', 'start', 'end'])


def downgrade():
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.drop_constraint('uq_absences_child_period', type_='unique')
