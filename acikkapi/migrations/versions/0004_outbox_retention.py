"""outbox templates, leases and expiry

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

STATUSES = ['PENDING', 'SENT', 'FAILED']


def _status_check(statuses: list[str]) -> None:
    op.drop_constraint(op.f('ck_outbox_message_status'), 'outbox_message', type_='check')
    op.create_check_constraint(op.f('ck_outbox_message_status'), 'outbox_message', sa.column('status').in_(statuses))


def upgrade() -> None:
    op.add_column('outbox_message', sa.Column('template', sa.String(length=32), nullable=True))
    op.add_column('outbox_message', sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column('outbox_message', sa.Column('priority', sa.SmallInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('outbox_message', sa.Column('not_after', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox_message', sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True))
    # Rows queued before templates keep their text as the legacy "metin" template while they wait;
    # the text of a message already sent or given up is dropped.
    op.execute("UPDATE outbox_message SET template = 'metin', "
               "params = CASE WHEN status = 'PENDING' THEN jsonb_build_object('metin', body) ELSE '{}' END")
    op.alter_column('outbox_message', 'template', nullable=False)
    op.drop_column('outbox_message', 'body')
    _status_check(STATUSES + ['EXPIRED'])


def downgrade() -> None:
    op.add_column('outbox_message', sa.Column('body', sa.Text(), server_default='', nullable=False))
    op.alter_column('outbox_message', 'body', server_default=None)
    # Only the legacy template's text survives; anything else still waiting cannot be rendered by the old code.
    op.execute("UPDATE outbox_message SET body = params->>'metin' WHERE template = 'metin' AND params ? 'metin'")
    op.execute("UPDATE outbox_message SET status = 'FAILED', last_error = 'not renderable after downgrade' "
               "WHERE status = 'PENDING' AND template <> 'metin'")
    op.execute("UPDATE outbox_message SET status = 'FAILED' WHERE status = 'EXPIRED'")
    _status_check(STATUSES)
    op.drop_column('outbox_message', 'leased_until')
    op.drop_column('outbox_message', 'not_after')
    op.drop_column('outbox_message', 'priority')
    op.drop_column('outbox_message', 'params')
    op.drop_column('outbox_message', 'template')
