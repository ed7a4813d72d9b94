"""Rapor Al as background jobs: the export_job table

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'export_job',
        sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), server_default='QUEUED', nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('rows_written', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('storage_key', sa.String(length=64), nullable=True),
        sa.Column('file_name', sa.String(length=128), nullable=False),
        sa.Column('file_size', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')", name=op.f('ck_export_job_status')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_export_job_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    )
    op.create_index(op.f('ix_export_job_user_id'), 'export_job', ['user_id'], unique=False)
    op.create_index(op.f('ix_export_job_expires_at'), 'export_job', ['expires_at'], unique=False)
    op.create_index('ix_export_job_unfinished_user_id', 'export_job', ['user_id'], unique=False,
                    postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"))


def downgrade() -> None:
    op.drop_table('export_job')
