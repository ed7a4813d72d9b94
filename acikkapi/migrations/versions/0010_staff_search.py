"""the staff search: the applicant's folded name words, office indexes in list order, waiting routings by due date

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _words(column: str) -> str:
    # models/reference.py's folding as it was written (a migration stays as it was when the model changes).
    return (rf"to_tsvector('simple', btrim(regexp_replace(translate(regexp_replace({column}, "
            r"'[\u0300-\u036f]', '', 'g'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZÇĞİÖŞÜçğıöşüÂÎÛâîûÀÁÄÈÉÊËÌÍÏÒÓÔÙÚàáäèéêëìíïòóôùú', "
            "'abcdefghijklmnopqrstuvwxyzcgiosucgiosuaiuaiuaaaeeeeiiiooouuaaaeeeeiiiooouu'), '[^a-z0-9]+', ' ', "
            "'g')))")


NAME_WORDS = (f"setweight({_words('applicant_first_name')}, 'A') || "
              f"setweight({_words('applicant_last_name')}, 'B')")


def upgrade() -> None:
    op.add_column('application', sa.Column('applicant_name_words', postgresql.TSVECTOR(),
                                           sa.Computed(NAME_WORDS, persisted=True), nullable=False))
    op.create_index(op.f('ix_application_applicant_name_words'), 'application', ['applicant_name_words'],
                    unique=False, postgresql_using='gin')
    op.drop_index(op.f('ix_application_subject_province_id_created_at'), table_name='application')
    op.create_index(op.f('ix_application_subject_province_id_created_at_id'), 'application',
                    ['subject_province_id', 'created_at', 'id'], unique=False)
    op.drop_index(op.f('ix_application_subject_district_id'), table_name='application')
    op.create_index(op.f('ix_application_subject_district_id_created_at_id'), 'application',
                    ['subject_district_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_routing_waiting_due_date', 'routing', ['due_date'], unique=False,
                    postgresql_where=sa.text("status <> 'ANSWERED'"))


def downgrade() -> None:
    op.drop_index('ix_routing_waiting_due_date', table_name='routing')
    op.drop_index(op.f('ix_application_subject_district_id_created_at_id'), table_name='application')
    op.create_index(op.f('ix_application_subject_district_id'), 'application', ['subject_district_id'],
                    unique=False)
    op.drop_index(op.f('ix_application_subject_province_id_created_at_id'), table_name='application')
    op.create_index(op.f('ix_application_subject_province_id_created_at'), 'application',
                    ['subject_province_id', 'created_at'], unique=False)
    op.drop_index(op.f('ix_application_applicant_name_words'), table_name='application')
    op.drop_column('application', 'applicant_name_words')
