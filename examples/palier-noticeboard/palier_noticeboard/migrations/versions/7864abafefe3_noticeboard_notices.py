"""noticeboard: notices

The first revision of the plugin's own branch ("noticeboard"). It needs the core's residences
and accounts, hence ``depends_on`` the core's first revision.

Revision ID: 7864abafefe3
Revises:
Create Date: 2026-11-22 08:35:22.870102

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7864abafefe3'
down_revision = None
branch_labels = ('noticeboard',)
depends_on = 'fb4d845a1149'  # core: accounts, roles and the estate


def upgrade():
    op.create_table('noticeboard_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('residence_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('posted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['posted_by_id'], ['user_account.id'], name=op.f('fk_noticeboard_notice_posted_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['residence_id'], ['residence.id'], name=op.f('fk_noticeboard_notice_residence_id_residence'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_noticeboard_notice'))
    )
    with op.batch_alter_table('noticeboard_notice', schema=None) as batch_op:
        batch_op.create_index('ix_noticeboard_notice_residence_id_starts_on', ['residence_id', 'starts_on'], unique=False)


def downgrade():
    with op.batch_alter_table('noticeboard_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_noticeboard_notice_residence_id_starts_on')

    op.drop_table('noticeboard_notice')
