"""video_diag: appointments and links

Video diagnosis appointments of a claim with a technician, and the tenant's links to them
(only the SHA-256 of each link's secret is stored).

Revision ID: v0001video
Revises:
Create Date: 2026-11-22 15:03:55.821171

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'v0001video'
down_revision = None
branch_labels = ('video_diag',)
depends_on = 'k0002tracking'  # claims: the claims' table, in its current shape


def upgrade():
    op.create_table('video_diag_appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'cancelled', 'done', name='appointmentstatus', native_enum=False, length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ics_sequence', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims_claim.id'], name=op.f('fk_video_diag_appointment_claim_id_claims_claim')),
    sa.ForeignKeyConstraint(['technician_id'], ['user_account.id'], name=op.f('fk_video_diag_appointment_technician_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_diag_appointment')),
    sa.UniqueConstraint('uid', name=op.f('uq_video_diag_appointment_uid'))
    )
    with op.batch_alter_table('video_diag_appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_diag_appointment_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_video_diag_appointment_technician_starts', ['technician_id', 'starts_at'], unique=False)

    op.create_table('video_diag_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('helper_name', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['video_diag_appointment.id'], name=op.f('fk_video_diag_link_appointment_id_video_diag_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_diag_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_video_diag_link_token_hash'))
    )
    with op.batch_alter_table('video_diag_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_diag_link_appointment_id'), ['appointment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('video_diag_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_diag_link_appointment_id'))

    op.drop_table('video_diag_link')
    with op.batch_alter_table('video_diag_appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_video_diag_appointment_technician_starts')
        batch_op.drop_index(batch_op.f('ix_video_diag_appointment_claim_id'))

    op.drop_table('video_diag_appointment')
