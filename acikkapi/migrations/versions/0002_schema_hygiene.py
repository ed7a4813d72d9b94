"""schema hygiene: enum CHECKs, server defaults, index names from all their columns, foreign-key indexes

Foreign keys that get an index: those to app_user that a user's deletion or an audit ("what did this officer
do") looks up (application.created_by_id, application_event.actor_id, attachment.uploaded_by_id), and
auth_session.application_id (an application's sessions are looked up and cascade-deleted with it).
Left out on purpose: otp_challenge.user_id / application_id (short-lived rows on the hottest insert path,
never looked up by them), application.subject_place_id and the residence columns (reference data is not
deleted, no query selects applications by them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# (table, column) → the enum member names allowed at this revision.
ENUM_CHECKS = {
    ('outbox_message', 'status'): ('PENDING', 'SENT', 'FAILED'),
    ('app_user', 'role'): ('AKS', 'YETKILI', 'MIA', 'YETKI_ISLEMLERI', 'ANALIST'),
    ('unit', 'kind'): ('BAKANLIK', 'GENEL_MUDURLUK', 'VALILIK', 'KAYMAKAMLIK', 'IL_MUDURLUGU', 'BOLGE_MUDURLUGU',
                       'BELEDIYE', 'IL_OZEL_IDARESI'),
    ('place', 'kind'): ('MAHALLE', 'KOY'),
    ('application', 'kind'): ('TALEP', 'SIKAYET', 'IHBAR', 'GORUS_ONERI'),
    ('application', 'channel'): ('WEB', 'MOBIL', 'BANKO', 'EDEVLET', 'KIOSK', 'CAGRI_MERKEZI'),
    ('application', 'status'): ('HAVUZDA', 'YONLENDIRILDI', 'CEVAPLANDI', 'MIA_ONAYINDA', 'MIA_DEGERLENDIRDI',
                                'SONUCLANDI'),
    ('application', 'result'): ('OLUMLU', 'OLUMSUZ', 'KISMEN'),
    ('application', 'applicant_gender'): ('ERKEK', 'KADIN'),
    ('application', 'priority_group'): ('SEHIT_YAKINI', 'GAZI', 'YASLI', 'HAMILE', 'ENGELLI'),
    ('application_event', 'action'): ('SUBMITTED',),
    ('application_event', 'status'): ('HAVUZDA', 'YONLENDIRILDI', 'CEVAPLANDI', 'MIA_ONAYINDA', 'MIA_DEGERLENDIRDI',
                                      'SONUCLANDI'),
    ('auth_session', 'purpose'): ('APPLY', 'TRACK', 'STAFF'),
    ('otp_challenge', 'purpose'): ('APPLY', 'TRACK', 'STAFF'),
}

# (table, column) → server default, matching the ORM's Python-side default.
SERVER_DEFAULTS = {
    ('application', 'status'): "'HAVUZDA'",
    ('application', 'is_special'): 'false',
    ('application', 'is_confidential'): 'false',
    ('application', 'version'): '1',
    ('application_event', 'public'): 'true',
    ('attachment', 'id'): 'gen_random_uuid()',
    ('auth_session', 'id'): 'gen_random_uuid()',
    ('otp_challenge', 'id'): 'gen_random_uuid()',
    ('otp_challenge', 'deliverable'): 'true',
    ('otp_challenge', 'attempts'): '0',
    ('otp_challenge', 'sends'): '1',
    ('outbox_message', 'status'): "'PENDING'",
    ('outbox_message', 'attempts'): '0',
    ('service_category', 'position'): '0',
    ('service_category', 'active'): 'true',
    ('unit', 'active'): 'true',
    ('app_user', 'active'): 'true',
}

# Old name → new name: index names are built from all their columns.
RENAMED_INDEXES = {
    'ix_district_province_id': 'ix_district_province_id_name',
    'ix_place_district_id': 'ix_place_district_id_name',
    'ix_application_status': 'ix_application_status_created_at',
    'ix_application_subject_province_id': 'ix_application_subject_province_id_created_at',
    'ix_otp_challenge_client_ip': 'ix_otp_challenge_client_ip_created_at',
    'ix_otp_challenge_phone': 'ix_otp_challenge_phone_created_at',
    'ix_otp_challenge_tckn': 'ix_otp_challenge_tckn_created_at',
}

FOREIGN_KEY_INDEXES = [
    ('application', 'created_by_id'),
    ('application_event', 'actor_id'),
    ('attachment', 'uploaded_by_id'),
    ('auth_session', 'application_id'),
]


def upgrade() -> None:
    for old, new in RENAMED_INDEXES.items():
        op.execute(f'ALTER INDEX {old} RENAME TO {new}')
    for table, column in FOREIGN_KEY_INDEXES:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)
    for (table, column), default in SERVER_DEFAULTS.items():
        op.alter_column(table, column, server_default=sa.text(default))
    for (table, column), names in ENUM_CHECKS.items():
        op.create_check_constraint(op.f(f'ck_{table}_{column}'), table, sa.column(column).in_(names))


def downgrade() -> None:
    for table, column in ENUM_CHECKS:
        op.drop_constraint(op.f(f'ck_{table}_{column}'), table, type_='check')
    for table, column in SERVER_DEFAULTS:
        op.alter_column(table, column, server_default=None)
    for table, column in FOREIGN_KEY_INDEXES:
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
    for old, new in RENAMED_INDEXES.items():
        op.execute(f'ALTER INDEX {new} RENAME TO {old}')
