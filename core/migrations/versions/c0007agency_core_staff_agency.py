"""core: the agency a member of staff works for

Revision ID: c0007agency
Revises: c0006erasure
Create Date: 2026-11-22 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0007agency'
down_revision = 'c0006erasure'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_agency_id'), ['agency_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_agency_id_agency'), 'agency',
                                    ['agency_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_agency_id_agency'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_agency_id'))
        batch_op.drop_column('agency_id')
