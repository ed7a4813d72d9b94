"""the search's indexes cover its filters: the office indexes carry the filtered columns, the category rows'
indexes the application

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

LISTED = ['status', 'result', 'kind', 'channel', 'priority_group', 'is_special', 'is_confidential']


def upgrade() -> None:
    for office in ('subject_province_id', 'subject_district_id'):
        name = f'ix_application_{office}_created_at_id'
        op.drop_index(name, table_name='application')
        op.create_index(name, 'application', [office, 'created_at', 'id'], unique=False, postgresql_include=LISTED)
    for column in ('category_id', 'subcategory_id'):
        op.drop_index(f'ix_application_category_{column}', table_name='application_category')
        op.create_index(f'ix_application_category_{column}_application_id', 'application_category',
                        [column, 'application_id'], unique=False)


def downgrade() -> None:
    for column in ('category_id', 'subcategory_id'):
        op.drop_index(f'ix_application_category_{column}_application_id', table_name='application_category')
        op.create_index(f'ix_application_category_{column}', 'application_category', [column], unique=False)
    for office in ('subject_province_id', 'subject_district_id'):
        name = f'ix_application_{office}_created_at_id'
        op.drop_index(name, table_name='application')
        op.create_index(name, 'application', [office, 'created_at', 'id'], unique=False)
