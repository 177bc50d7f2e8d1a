"""claims: event kinds, ratings, collective incidents, catalogue versions

Event kinds (information from the tenant, public messages, internal notes, who-pays
overrides, ratings), the tenant's rating, collective incidents, and the catalogue's versions
saved by administrators.

Revision ID: k0002tracking
Revises: k0001claims
Create Date: 2026-11-22 13:21:12.522871

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'k0002tracking'
down_revision = 'k0001claims'
branch_labels = None
depends_on = 'c0007agency'  # core: the agency of staff accounts


def upgrade():
    op.create_table('claims_catalogue_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_claims_catalogue_version_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims_catalogue_version')),
    sa.UniqueConstraint('version', name=op.f('uq_claims_catalogue_version_version'))
    )
    with op.batch_alter_table('claims_catalogue_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_catalogue_version_activated_at'), ['activated_at'], unique=False)

    op.create_table('claims_incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('status', sa.Enum('proposed', 'confirmed', 'dismissed', 'resolved', 'closed', name='incidentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('entrance_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.String(length=80), nullable=False),
    sa.Column('problem_id', sa.String(length=120), nullable=False),
    sa.Column('wording', sa.JSON(), nullable=False),
    sa.Column('stage', sa.Enum('submitted', 'acknowledged', 'qualified', 'assigned', 'appointment_planned', 'postponed', 'in_progress', 'resolved', 'closed', 'rejected', 'cancelled', 'reopened', name='status', native_enum=False, length=24), nullable=True),
    sa.Column('public_message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_claims_incident_agency_id_agency')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_claims_incident_building_id_building')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_claims_incident_confirmed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entrance_id'], ['entrance.id'], name=op.f('fk_claims_incident_entrance_id_entrance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims_incident')),
    sa.UniqueConstraint('reference', name=op.f('uq_claims_incident_reference'))
    )
    with op.batch_alter_table('claims_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_incident_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index('ix_claims_incident_building_problem', ['building_id', 'equipment_id', 'problem_id', 'status'], unique=False)

    with op.batch_alter_table('claims_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_responsibility', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_claims_claim_agency_created', ['agency_id', 'created_at'], unique=False)
        batch_op.create_index('ix_claims_claim_created', ['created_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_claims_claim_incident_id_claims_incident'), 'claims_incident', ['incident_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('claims_claim_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('status', 'information', 'message', 'note', 'responsibility', 'rating', 'incident', name='eventkind', native_enum=False, length=16), nullable=False, server_default='status'))



def downgrade():
    with op.batch_alter_table('claims_claim_event', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('claims_claim', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_claims_claim_incident_id_claims_incident'), type_='foreignkey')
        batch_op.drop_index('ix_claims_claim_created')
        batch_op.drop_index('ix_claims_claim_agency_created')
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating_comment')
        batch_op.drop_column('rating')
        batch_op.drop_column('original_responsibility')

    with op.batch_alter_table('claims_incident', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_incident_building_problem')
        batch_op.drop_index(batch_op.f('ix_claims_incident_agency_id'))

    op.drop_table('claims_incident')
    with op.batch_alter_table('claims_catalogue_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_catalogue_version_activated_at'))

    op.drop_table('claims_catalogue_version')
