"""a version counter of the reference data, kept by triggers

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ['service_category', 'province', 'district', 'place', 'unit']


def upgrade() -> None:
    op.create_table(
        'reference_version',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_version')),
    )
    op.execute("INSERT INTO reference_version (id, version) VALUES (1, 0)")
    # Statement-level: a bulk load counts once. The counter moves in the writer's transaction, so a reader
    # sees the new count only together with the new data.
    op.execute("""
        CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE reference_version SET version = version + 1;
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION reference_changed()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.execute("DROP FUNCTION reference_changed()")
    op.drop_table('reference_version')
