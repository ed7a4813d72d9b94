"""Yetki İşlemleri: who registered and last changed a user, one active account per person, the audit log

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ROLES = ['AKS', 'YETKILI', 'MIA', 'YETKI_ISLEMLERI', 'ANALIST']
# The audit log is append-only, as the KVKK log: no role the application connects with may change or delete a row.
APPEND_ONLY = (
    """CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only';
    END $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
)


def _purposes(purposes: list[str]) -> None:
    op.drop_constraint(op.f('ck_identity_lookup_purpose'), 'identity_lookup', type_='check')
    op.create_check_constraint(op.f('ck_identity_lookup_purpose'), 'identity_lookup',
                               sa.column('purpose').in_(purposes))


def upgrade() -> None:
    op.add_column('app_user', sa.Column('created_by_id', sa.Integer(), nullable=True))
    op.add_column('app_user', sa.Column('updated_by_id', sa.Integer(), nullable=True))
    op.add_column('app_user', sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
    op.create_foreign_key(op.f('fk_app_user_created_by_id_app_user'), 'app_user', 'app_user', ['created_by_id'],
                          ['id'])
    op.create_foreign_key(op.f('fk_app_user_updated_by_id_app_user'), 'app_user', 'app_user', ['updated_by_id'],
                          ['id'])
    op.create_index(op.f('ix_app_user_created_by_id'), 'app_user', ['created_by_id'], unique=False)
    op.create_index(op.f('ix_app_user_updated_by_id'), 'app_user', ['updated_by_id'], unique=False)
    op.drop_constraint(op.f('uq_app_user_tckn'), 'app_user', type_='unique')
    op.create_index('uq_app_user_tckn_active', 'app_user', ['tckn'], unique=True,
                    postgresql_where=sa.text('active'))
    op.create_index('ix_app_user_tckn', 'app_user', ['tckn'], unique=False)
    op.create_index('ix_app_user_phone', 'app_user', ['phone'], unique=False)
    _purposes(['REGISTER_APPLICATION', 'REGISTER_USER'])

    op.create_table(
        'audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('actor_label', sa.String(length=160), nullable=False),
        sa.Column('actor_role', sa.String(length=32), nullable=False),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('entity_id', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('province_id', sa.SmallInteger(), nullable=True),
        sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint(sa.column('actor_role').in_(ROLES), name=op.f('ck_audit_event_actor_role')),
        sa.CheckConstraint(sa.column('entity').in_(['USER', 'SERVICE_CATEGORY', 'UNIT']),
                           name=op.f('ck_audit_event_entity')),
        sa.CheckConstraint(sa.column('action').in_(['CREATED', 'UPDATED', 'DEACTIVATED', 'REACTIVATED', 'IMPORTED']),
                           name=op.f('ck_audit_event_action')),
        sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_audit_event_actor_id_app_user')),
        sa.ForeignKeyConstraint(['province_id'], ['province.id'], name=op.f('fk_audit_event_province_id_province')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    op.create_index('ix_audit_event_province_id_id', 'audit_event', ['province_id', 'id'], unique=False)
    op.create_index('ix_audit_event_entity_entity_id_id', 'audit_event', ['entity', 'entity_id', 'id'], unique=False)
    op.create_index('ix_audit_event_actor_id_id', 'audit_event', ['actor_id', 'id'], unique=False)
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE audit_event")  # its trigger refuses the row deletions drop_table does not do
    op.execute("DROP FUNCTION audit_event_append_only()")
    op.execute("DELETE FROM identity_lookup WHERE purpose = 'REGISTER_USER'")
    _purposes(['REGISTER_APPLICATION'])
    op.drop_index('ix_app_user_phone', table_name='app_user')
    op.drop_index('ix_app_user_tckn', table_name='app_user')
    op.drop_index('uq_app_user_tckn_active', table_name='app_user')
    op.create_unique_constraint(op.f('uq_app_user_tckn'), 'app_user', ['tckn'])
    op.drop_index(op.f('ix_app_user_updated_by_id'), table_name='app_user')
    op.drop_index(op.f('ix_app_user_created_by_id'), table_name='app_user')
    op.drop_constraint(op.f('fk_app_user_updated_by_id_app_user'), 'app_user', type_='foreignkey')
    op.drop_constraint(op.f('fk_app_user_created_by_id_app_user'), 'app_user', type_='foreignkey')
    op.drop_column('app_user', 'version')
    op.drop_column('app_user', 'updated_by_id')
    op.drop_column('app_user', 'created_by_id')
