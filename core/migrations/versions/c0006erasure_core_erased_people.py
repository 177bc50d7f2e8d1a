"""core: erased people, one account per person

Revision ID: c0006erasure
Revises: c0005accounts
Create Date: 2026-11-22 09:49:56.531138

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0006erasure'
down_revision = 'c0005accounts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_person_id'), ['person_id'])



def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_person_id'), type_='unique')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

