"""the staff workflow: routings to units, staff offices (kaymakamlık), the answer to the citizen, richer history
rows, unit answer files and the KVKK access log

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ACTIONS = ['SUBMITTED']
NEW_ACTIONS = ['CATEGORIES_UPDATED', 'FLAGS_SET', 'ROUTED', 'ANSWERED', 'ANSWER_RETURNED', 'SENT_TO_MIA',
               'MIA_REVIEWED', 'CLOSED']
ROLES = ['AKS', 'YETKILI', 'MIA', 'YETKI_ISLEMLERI', 'ANALIST']

# The KVKK access log is append-only: no role the application connects with may change or delete a row.
APPEND_ONLY = (
    """CREATE FUNCTION kvkk_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'kvkk_access_log is append-only';
    END $$""",
    """CREATE TRIGGER kvkk_access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON kvkk_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION kvkk_access_log_append_only()""",
)


def _action_check(actions: list[str]) -> None:
    op.drop_constraint(op.f('ck_application_event_action'), 'application_event', type_='check')
    op.create_check_constraint(op.f('ck_application_event_action'), 'application_event',
                               sa.column('action').in_(actions))


def upgrade() -> None:
    op.add_column('app_user', sa.Column('district_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_app_user_district_id_district'), 'app_user', 'district', ['district_id'], ['id'])
    op.create_index(op.f('ix_app_user_district_id'), 'app_user', ['district_id'], unique=False)

    op.add_column('application', sa.Column('answer', sa.Text(), nullable=True))

    op.create_table(
        'routing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('unit_no', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), server_default='OPEN', nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.CheckConstraint("status IN ('OPEN', 'ANSWERED', 'RETURNED')", name=op.f('ck_routing_status')),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_routing_application_id_application'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['parent_id'], ['routing.id'], name=op.f('fk_routing_parent_id_routing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_no'], ['unit.detsis_no'], name=op.f('fk_routing_unit_no_unit')),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_routing_created_by_id_app_user')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['app_user.id'],
                                name=op.f('fk_routing_answered_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routing')),
    )
    op.create_index(op.f('ix_routing_application_id_unit_no'), 'routing', ['application_id', 'unit_no'], unique=True)
    op.create_index(op.f('ix_routing_unit_no_status_due_date'), 'routing', ['unit_no', 'status', 'due_date'],
                    unique=False)
    op.create_index(op.f('ix_routing_parent_id'), 'routing', ['parent_id'], unique=False)
    op.create_index(op.f('ix_routing_created_by_id'), 'routing', ['created_by_id'], unique=False)
    op.create_index(op.f('ix_routing_answered_by_id'), 'routing', ['answered_by_id'], unique=False)

    op.add_column('attachment', sa.Column('routing_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_attachment_routing_id_routing'), 'attachment', 'routing', ['routing_id'], ['id'],
                          ondelete='CASCADE')
    op.create_index(op.f('ix_attachment_routing_id'), 'attachment', ['routing_id'], unique=False)

    op.add_column('application_event', sa.Column('actor_role', sa.String(length=32), nullable=True))
    op.create_check_constraint(op.f('ck_application_event_actor_role'), 'application_event',
                               sa.column('actor_role').in_(ROLES))
    op.add_column('application_event', sa.Column('routing_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_application_event_routing_id_routing'), 'application_event', 'routing',
                          ['routing_id'], ['id'], ondelete='CASCADE')
    op.create_index(op.f('ix_application_event_routing_id'), 'application_event', ['routing_id'], unique=False)
    _action_check(ACTIONS + NEW_ACTIONS)
    # The history rows of the AKS registrations made so far name their officer's role.
    op.execute("UPDATE application_event e SET actor_role = u.role FROM app_user u WHERE u.id = e.actor_id")

    op.create_table(
        'kvkk_access_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('fields', postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_kvkk_access_log_user_id_app_user')),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_kvkk_access_log_application_id_application')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kvkk_access_log')),
    )
    op.create_index('ix_kvkk_access_log_user_id_created_at', 'kvkk_access_log', ['user_id', 'created_at'],
                    unique=False)
    op.create_index('ix_kvkk_access_log_application_id_created_at', 'kvkk_access_log',
                    ['application_id', 'created_at'], unique=False)
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE kvkk_access_log")  # its trigger refuses the row deletions drop_table does not do
    op.execute("DROP FUNCTION kvkk_access_log_append_only()")

    op.execute(f"DELETE FROM application_event WHERE action IN ({', '.join(repr(a) for a in NEW_ACTIONS)})")
    _action_check(ACTIONS)
    op.drop_index(op.f('ix_application_event_routing_id'), table_name='application_event')
    op.drop_constraint(op.f('fk_application_event_routing_id_routing'), 'application_event', type_='foreignkey')
    op.drop_column('application_event', 'routing_id')
    op.drop_constraint(op.f('ck_application_event_actor_role'), 'application_event', type_='check')
    op.drop_column('application_event', 'actor_role')

    op.drop_index(op.f('ix_attachment_routing_id'), table_name='attachment')
    op.drop_constraint(op.f('fk_attachment_routing_id_routing'), 'attachment', type_='foreignkey')
    op.execute("DELETE FROM attachment WHERE routing_id IS NOT NULL")
    op.drop_column('attachment', 'routing_id')

    op.drop_index(op.f('ix_routing_answered_by_id'), table_name='routing')
    op.drop_index(op.f('ix_routing_created_by_id'), table_name='routing')
    op.drop_index(op.f('ix_routing_parent_id'), table_name='routing')
    op.drop_index(op.f('ix_routing_unit_no_status_due_date'), table_name='routing')
    op.drop_index(op.f('ix_routing_application_id_unit_no'), table_name='routing')
    op.drop_table('routing')

    op.drop_column('application', 'answer')

    op.drop_index(op.f('ix_app_user_district_id'), table_name='app_user')
    op.drop_constraint(op.f('fk_app_user_district_id_district'), 'app_user', type_='foreignkey')
    op.drop_column('app_user', 'district_id')
