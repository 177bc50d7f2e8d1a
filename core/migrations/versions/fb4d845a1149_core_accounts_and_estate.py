"""core: accounts, roles and the estate (agencies to dwellings, people, leases)

Revision ID: fb4d845a1149
Revises: 
Create Date: 2026-11-22 08:30:07.717746

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fb4d845a1149'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade():
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('reference', name=op.f('uq_agency_reference'))
    )
    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('reference', name=op.f('uq_household_reference'))
    )
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('civility', sa.String(length=10), nullable=False),
    sa.Column('first_name', sa.String(length=120), nullable=False),
    sa.Column('last_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('reference', name=op.f('uq_person_reference'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_household_id'), ['household_id'], unique=False)

    op.create_table('residence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_residence_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residence')),
    sa.UniqueConstraint('reference', name=op.f('uq_residence_reference'))
    )
    with op.batch_alter_table('residence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residence_agency_id'), ['agency_id'], unique=False)

    op.create_table('building',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('residence_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['residence_id'], ['residence.id'], name=op.f('fk_building_residence_id_residence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building')),
    sa.UniqueConstraint('reference', name=op.f('uq_building_reference'))
    )
    with op.batch_alter_table('building', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_building_residence_id'), ['residence_id'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('tenant', 'caretaker', 'technician', 'agent', 'manager', 'committee_member', 'committee_chair', 'admin', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_user_account_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('caretaker_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_caretaker_assignment_building_id_building'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_caretaker_assignment_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caretaker_assignment')),
    sa.UniqueConstraint('user_id', 'building_id', name=op.f('uq_caretaker_assignment_user_id'))
    )
    with op.batch_alter_table('caretaker_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caretaker_assignment_building_id'), ['building_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caretaker_assignment_user_id'), ['user_id'], unique=False)

    op.create_table('entrance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_entrance_building_id_building')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entrance')),
    sa.UniqueConstraint('reference', name=op.f('uq_entrance_reference'))
    )
    with op.batch_alter_table('entrance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entrance_building_id'), ['building_id'], unique=False)

    op.create_table('dwelling',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('entrance_id', sa.Integer(), nullable=False),
    sa.Column('floor', sa.Integer(), nullable=False),
    sa.Column('door', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('surface_m2', sa.Numeric(precision=7, scale=2, asdecimal=False), nullable=False),
    sa.ForeignKeyConstraint(['entrance_id'], ['entrance.id'], name=op.f('fk_dwelling_entrance_id_entrance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dwelling')),
    sa.UniqueConstraint('reference', name=op.f('uq_dwelling_reference'))
    )
    with op.batch_alter_table('dwelling', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dwelling_entrance_id'), ['entrance_id'], unique=False)

    op.create_table('lease',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('dwelling_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['dwelling_id'], ['dwelling.id'], name=op.f('fk_lease_dwelling_id_dwelling')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_lease_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease')),
    sa.UniqueConstraint('reference', name=op.f('uq_lease_reference'))
    )
    with op.batch_alter_table('lease', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_dwelling_id'), ['dwelling_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_household_id'), ['household_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lease', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_household_id'))
        batch_op.drop_index(batch_op.f('ix_lease_dwelling_id'))

    op.drop_table('lease')
    with op.batch_alter_table('dwelling', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dwelling_entrance_id'))

    op.drop_table('dwelling')
    with op.batch_alter_table('entrance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entrance_building_id'))

    op.drop_table('entrance')
    with op.batch_alter_table('caretaker_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caretaker_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_caretaker_assignment_building_id'))

    op.drop_table('caretaker_assignment')
    op.drop_table('user_account')
    with op.batch_alter_table('building', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_building_residence_id'))

    op.drop_table('building')
    with op.batch_alter_table('residence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residence_agency_id'))

    op.drop_table('residence')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_household_id'))

    op.drop_table('person')
    op.drop_table('household')
    op.drop_table('agency')
