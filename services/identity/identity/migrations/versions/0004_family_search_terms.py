"""family_search_terms: the agents' search as an indexed table of folded words (names, e-mails, phones, dossier)

Replaces families.search_folded, which a search read in full (LIKE '%x%' on every family).

Revision ID: 0004_family_search_terms
Revises: 0003
Create Date: 2026-12-02 04:45:00
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0004_family_search_terms'
down_revision = '0003'
branch_labels = None
depends_on = None

# A copy of identity.domain.search_terms as it was at this revision (a migration does not follow the code).
WORD = re.compile(r"[^\W_]+")


def fold(text):
    decomposed = unicodedata.normalize("NFKD", (text or "").strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def national_digits(phone):
    digits = re.sub(r"[^0-9+]", "", phone)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits.replace("+", "")


def terms_of(dossier, members):
    terms = {dossier, dossier.lstrip("0") or "0"}
    for first_name, last_name, email, phone in members:
        for text in (first_name, last_name, email):
            terms.update(WORD.findall(fold(text)))
        if phone:
            terms.add(national_digits(phone))
    return sorted(t[:100] for t in terms if t)


def upgrade():
    terms = op.create_table(
        'family_search_terms',
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_search_terms_family_id_families')),
        sa.PrimaryKeyConstraint('term', 'family_id', name=op.f('pk_family_search_terms')),
    )
    op.create_index(op.f('ix_family_search_terms_family_id'), 'family_search_terms', ['family_id'], unique=False)
    bind = op.get_bind()
    members = {}
    for family_id, first, last, email, phone in bind.execute(sa.text(
            "SELECT family_id, first_name, last_name, email, phone FROM representatives")):
        members.setdefault(family_id, []).append((first, last, email, phone))
    for family_id, first, last in bind.execute(sa.text(
            "SELECT fc.family_id, c.first_name, c.last_name FROM children c "
            "JOIN family_children fc ON fc.child_id = c.id")):
        members.setdefault(family_id, []).append((first, last, "", ""))
    rows = [{"term": term, "family_id": family_id}
            for family_id, dossier in bind.execute(sa.text("SELECT id, dossier FROM families"))
            for term in terms_of(dossier, members.get(family_id, []))]
    for start in range(0, len(rows), 1000):
        op.bulk_insert(terms, rows[start:start + 1000])
    # Not a batch (SQLite would copy families, which other tables reference): both databases drop a column.
    op.execute("ALTER TABLE families DROP COLUMN search_folded")


def downgrade():
    op.add_column('families', sa.Column('search_folded', sa.Text(), nullable=False, server_default=''))
    op.drop_index(op.f('ix_family_search_terms_family_id'), table_name='family_search_terms')
    op.drop_table('family_search_terms')
