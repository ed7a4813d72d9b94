"""e-İçişleri sign-in requests: the state, nonce and PKCE verifier of each started sign-in

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'eicisleri_sign_in',
        sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('state_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('code_verifier', sa.String(length=128), nullable=False),
        sa.Column('client_ip', postgresql.INET(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eicisleri_sign_in')),
        sa.UniqueConstraint('state_hash', name=op.f('uq_eicisleri_sign_in_state_hash')),
    )
    op.create_index('ix_eicisleri_sign_in_client_ip_created_at', 'eicisleri_sign_in', ['client_ip', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_eicisleri_sign_in_client_ip_created_at', table_name='eicisleri_sign_in')
    op.drop_table('eicisleri_sign_in')
