"""schools calendar reservations absences attendance menus

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:27:00.943347
"""
from alembic import op
import sqlalchemy as sa
import espace_common.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('absences',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('reported_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('document_name', sa.String(length=200), nullable=True),
    sa.Column('document_type', sa.String(length=40), nullable=True),
    sa.Column('document_path', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absences'))
    )
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absences_child_id'), ['child_id'], unique=False)

    op.create_table('attendance',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('school_id', sa.String(length=36), nullable=False),
    sa.Column('reserved', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('child_id', 'day', name=op.f('pk_attendance'))
    )
    op.create_table('calendar_feeds',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', espace_common.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_calendar_feeds'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_family_id'), ['family_id'], unique=False)

    op.create_table('closed_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_closed_days'))
    )
    op.create_table('diets',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('diet', sa.String(length=20), nullable=False),
    sa.Column('pai', sa.Boolean(), nullable=False),
    sa.Column('updated_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('child_id', name=op.f('pk_diets'))
    )
    op.create_table('holidays',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('source_uid', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
    sa.UniqueConstraint('source_uid', name=op.f('uq_holidays_source_uid'))
    )
    op.create_table('menus',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('courses', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_menus'))
    )
    op.create_table('news',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('published_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news'))
    )
    op.create_table('reservations',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', espace_common.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('child_id', 'day', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_day', ['day'], unique=False)

    op.create_table('schools',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schools')),
    sa.UniqueConstraint('name', name=op.f('uq_schools_name'))
    )
    op.create_table('classes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=36), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_classes_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classes')),
    sa.UniqueConstraint('school_id', 'school_year', 'name', name='uq_classes_school_year_name')
    )
    op.create_table('enrolments',
    sa.Column('child_id', sa.String(length=36), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('school_id', sa.String(length=36), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_enrolments_class_id_classes')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_enrolments_school_id_schools')),
    sa.PrimaryKeyConstraint('child_id', 'school_year', name=op.f('pk_enrolments'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_school_id'), ['school_id'], unique=False)



def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_school_id'))

    op.drop_table('enrolments')
    op.drop_table('classes')
    op.drop_table('schools')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_reservations_day')

    op.drop_table('reservations')
    op.drop_table('news')
    op.drop_table('menus')
    op.drop_table('holidays')
    op.drop_table('diets')
    op.drop_table('closed_days')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_family_id'))

    op.drop_table('calendar_feeds')
    op.drop_table('attendance')
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absences_child_id'))

    op.drop_table('absences')
