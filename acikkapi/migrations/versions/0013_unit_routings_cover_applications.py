"""a unit's routings index carries their applications: the search by routed unit reads it alone

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

NAME = 'ix_routing_unit_no_status_due_date'


def upgrade() -> None:
    op.drop_index(NAME, table_name='routing')
    op.create_index(NAME, 'routing', ['unit_no', 'status', 'due_date'], unique=False,
                    postgresql_include=['application_id'])


def downgrade() -> None:
    op.drop_index(NAME, table_name='routing')
    op.create_index(NAME, 'routing', ['unit_no', 'status', 'due_date'], unique=False)
