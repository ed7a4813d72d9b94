"""idempotency key of an officer's registration

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('application', sa.Column('idempotency_key', sa.String(length=64), nullable=True))
    op.create_index('ix_application_created_by_id_idempotency_key', 'application',
                    ['created_by_id', 'idempotency_key'], unique=True,
                    postgresql_where=sa.text('idempotency_key IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_application_created_by_id_idempotency_key', table_name='application')
    op.drop_column('application', 'idempotency_key')
