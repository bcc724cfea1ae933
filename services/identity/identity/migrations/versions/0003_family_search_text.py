"""families.search_folded: what the agents' search matches, case and accents folded

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:50:00
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def fold(text):
    decomposed = unicodedata.normalize("NFKD", (text or "").strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade():
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_folded', sa.Text(), nullable=False, server_default=''))
    bind = op.get_bind()
    families = bind.execute(sa.text("SELECT id, dossier FROM families")).all()
    for family_id, dossier in families:
        words = [dossier]
        for row in bind.execute(sa.text(
                "SELECT first_name, last_name, email FROM representatives WHERE family_id = :f"), {"f": family_id}):
            words += list(row)
        for row in bind.execute(sa.text(
                "SELECT c.first_name, c.last_name FROM children c JOIN family_children fc ON fc.child_id = c.id "
                "WHERE fc.family_id = :f"), {"f": family_id}):
            words += list(row)
        bind.execute(sa.text("UPDATE families SET search_folded = :s WHERE id = :f"),
                     {"s": fold(" ".join(w for w in words if w)), "f": family_id})


def downgrade():
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_column('search_folded')
