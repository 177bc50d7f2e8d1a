"""claims: claims, their history (status changes) and the yearly reference counters

The first revision of the plugin's own branch ("claims"); it needs the core's estate, people,
accounts and erasure.

Revision ID: k0001claims
Revises:
Create Date: 2026-11-22 11:35:14.794866

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'k0001claims'
down_revision = None
branch_labels = ('claims',)
depends_on = 'c0006erasure'  # core: estate, people, accounts, erasure

def upgrade():
    op.create_table('claims_reference_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_claims_reference_counter'))
    )
    op.create_table('claims_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('portal', 'caretaker', 'phone', 'agent', name='filingchannel', native_enum=False, length=12), nullable=False),
    sa.Column('dwelling_id', sa.Integer(), nullable=True),
    sa.Column('entrance_id', sa.Integer(), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_version', sa.String(length=40), nullable=False),
    sa.Column('place_id', sa.String(length=80), nullable=False),
    sa.Column('equipment_id', sa.String(length=80), nullable=False),
    sa.Column('problem_id', sa.String(length=120), nullable=False),
    sa.Column('wording', sa.JSON(), nullable=False),
    sa.Column('responsibility', sa.String(length=24), nullable=False),
    sa.Column('legal_reference', sa.String(length=500), nullable=False),
    sa.Column('trade', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.String(length=12), nullable=False),
    sa.Column('deadline_hours', sa.Double(), nullable=False),
    sa.Column('video_diagnosis', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'acknowledged', 'qualified', 'assigned', 'appointment_planned', 'postponed', 'in_progress', 'resolved', 'closed', 'rejected', 'cancelled', 'reopened', name='status', native_enum=False, length=24), nullable=False),
    sa.Column('assigned_trade', sa.String(length=40), nullable=True),
    sa.Column('assigned_technician_id', sa.Integer(), nullable=True),
    sa.Column('assigned_contractor', sa.String(length=200), nullable=True),
    sa.Column('planned_for', sa.DateTime(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_token', sa.String(length=64), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_claims_claim_agency_id_agency')),
    sa.ForeignKeyConstraint(['assigned_technician_id'], ['user_account.id'], name=op.f('fk_claims_claim_assigned_technician_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_claims_claim_building_id_building')),
    sa.ForeignKeyConstraint(['dwelling_id'], ['dwelling.id'], name=op.f('fk_claims_claim_dwelling_id_dwelling')),
    sa.ForeignKeyConstraint(['entrance_id'], ['entrance.id'], name=op.f('fk_claims_claim_entrance_id_entrance')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'], name=op.f('fk_claims_claim_filed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_claims_claim_household_id_household')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_claims_claim_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims_claim')),
    sa.UniqueConstraint('idempotency_token', name=op.f('uq_claims_claim_idempotency_token')),
    sa.UniqueConstraint('reference', name=op.f('uq_claims_claim_reference'))
    )
    op.create_index('ix_claims_claim_agency_status_due', 'claims_claim', ['agency_id', 'status', 'due_at'], unique=False)
    op.create_index(op.f('ix_claims_claim_assigned_technician_id'), 'claims_claim', ['assigned_technician_id'], unique=False)
    op.create_index('ix_claims_claim_building_status', 'claims_claim', ['building_id', 'status'], unique=False)
    op.create_index(op.f('ix_claims_claim_dwelling_id'), 'claims_claim', ['dwelling_id'], unique=False)
    op.create_index(op.f('ix_claims_claim_entrance_id'), 'claims_claim', ['entrance_id'], unique=False)
    op.create_index(op.f('ix_claims_claim_filed_by_id'), 'claims_claim', ['filed_by_id'], unique=False)
    op.create_index('ix_claims_claim_household_created', 'claims_claim', ['household_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_claims_claim_incident_id'), 'claims_claim', ['incident_id'], unique=False)
    op.create_index(op.f('ix_claims_claim_person_id'), 'claims_claim', ['person_id'], unique=False)
    op.create_index('ix_claims_claim_status_due', 'claims_claim', ['status', 'due_at'], unique=False)

    op.create_table('claims_claim_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('submitted', 'acknowledged', 'qualified', 'assigned', 'appointment_planned', 'postponed', 'in_progress', 'resolved', 'closed', 'rejected', 'cancelled', 'reopened', name='status', native_enum=False, length=24), nullable=True),
    sa.Column('to_status', sa.Enum('submitted', 'acknowledged', 'qualified', 'assigned', 'appointment_planned', 'postponed', 'in_progress', 'resolved', 'closed', 'rejected', 'cancelled', 'reopened', name='status', native_enum=False, length=24), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('public_message', sa.Text(), nullable=False),
    sa.Column('internal_note', sa.Text(), nullable=False),
    sa.Column('planned_for', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_claims_claim_event_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['claim_id'], ['claims_claim.id'], name=op.f('fk_claims_claim_event_claim_id_claims_claim'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims_claim_event'))
    )
    op.create_index(op.f('ix_claims_claim_event_claim_id'), 'claims_claim_event', ['claim_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes.
    op.drop_table('claims_claim_event')
    op.drop_table('claims_claim')
    op.drop_table('claims_reference_counter')
