"""sign-in hardening: tracking number on code requests

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('otp_challenge', sa.Column('tracking_no', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('otp_challenge', 'tracking_no')
