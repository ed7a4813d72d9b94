"""sign-in hardening: staff identity lookups, tracking number on code requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_lookup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('tckn', sa.String(length=11), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_identity_lookup_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_lookup')),
    sa.CheckConstraint(sa.column('purpose').in_(['REGISTER_APPLICATION']), name=op.f('ck_identity_lookup_purpose')),
    sa.CheckConstraint(sa.column('outcome').in_(['FOUND', 'NOT_FOUND', 'OTHER_PROVINCE', 'UNAVAILABLE']),
                       name=op.f('ck_identity_lookup_outcome')),
    )
    op.create_index('ix_identity_lookup_tckn_created_at', 'identity_lookup', ['tckn', 'created_at'], unique=False)
    op.create_index('ix_identity_lookup_user_id_created_at', 'identity_lookup', ['user_id', 'created_at'], unique=False)
    op.add_column('otp_challenge', sa.Column('tracking_no', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('otp_challenge', 'tracking_no')
    op.drop_index('ix_identity_lookup_user_id_created_at', table_name='identity_lookup')
    op.drop_index('ix_identity_lookup_tckn_created_at', table_name='identity_lookup')
    op.drop_table('identity_lookup')
