"""the words of each unit's folded name, indexed for the Turkish-aware unit search

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# models/reference.py's folding as it was written (a migration stays as it was when the model changes).
SEARCH_WORDS = (
    r"array_to_tsvector(string_to_array(btrim(regexp_replace(translate(regexp_replace(name, '[\u0300-\u036f]', "
    "'', 'g'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZÇĞİÖŞÜçğıöşüÂÎÛâîûÀÁÄÈÉÊËÌÍÏÒÓÔÙÚàáäèéêëìíïòóôùú', "
    "'abcdefghijklmnopqrstuvwxyzcgiosucgiosuaiuaiuaaaeeeeiiiooouuaaaeeeeiiiooouu'), '[^a-z0-9]+', ' ', 'g')), ' '))")


def upgrade() -> None:
    op.add_column('unit', sa.Column('search_words', postgresql.TSVECTOR(), sa.Computed(SEARCH_WORDS, persisted=True),
                                    nullable=False))
    op.create_index(op.f('ix_unit_search_words'), 'unit', ['search_words'], unique=False, postgresql_using='gin',
                    postgresql_with={'fastupdate': 'off'})


def downgrade() -> None:
    op.drop_index(op.f('ix_unit_search_words'), table_name='unit')
    op.drop_column('unit', 'search_words')
