"""realtime: NOTIFY when history rows, ended sessions, deactivated users and queued SMS commit

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# NOTIFY is sent when the transaction commits, and not at all when it rolls back. A statement that writes more
# history rows than a notification can name (a bulk load) sends "*": no realtime notice for those.
FUNCTIONS = {
    'application_event_notify': """
        DECLARE ids text;
        BEGIN
            SELECT CASE WHEN count(*) <= 500 THEN string_agg(id::text, ',' ORDER BY id) ELSE '*' END
              INTO ids FROM inserted;
            IF ids IS NOT NULL THEN
                PERFORM pg_notify('acikkapi_events', ids);
            END IF;
            RETURN NULL;
        END""",
    'auth_session_ended_notify': """
        BEGIN
            PERFORM pg_notify('acikkapi_sessions', 's:' || NEW.id::text);
            RETURN NULL;
        END""",
    'app_user_deactivated_notify': """
        BEGIN
            PERFORM pg_notify('acikkapi_sessions', 'u:' || NEW.id::text);
            RETURN NULL;
        END""",
    'outbox_message_notify': """
        BEGIN
            PERFORM pg_notify('acikkapi_outbox', '');
            RETURN NULL;
        END""",
}
TRIGGERS = {
    'application_event_notify': """AFTER INSERT ON application_event REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT""",
    'auth_session_ended_notify': """AFTER UPDATE OF revoked_at ON auth_session FOR EACH ROW
        WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)""",
    'app_user_deactivated_notify': """AFTER UPDATE OF active ON app_user FOR EACH ROW
        WHEN (OLD.active AND NOT NEW.active)""",
    'outbox_message_notify': "AFTER INSERT ON outbox_message FOR EACH STATEMENT",
}


def upgrade() -> None:
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
        op.execute(f"CREATE TRIGGER {name} {TRIGGERS[name]} EXECUTE FUNCTION {name}()")


def downgrade() -> None:
    for name, when in TRIGGERS.items():
        table = when.split(' ON ')[1].split()[0]
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
