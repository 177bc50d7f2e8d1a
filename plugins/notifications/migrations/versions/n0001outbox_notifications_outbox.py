"""notifications: the outbox, status history, preferences, opt-outs, templates, print batches

The first revision of the plugin's own branch ("notifications"); it needs the core's people
and accounts.

Revision ID: n0001outbox
Revises:
Create Date: 2026-11-22 10:54:30.778037

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'n0001outbox'
down_revision = None
branch_labels = ('notifications',)
depends_on = 'c0006erasure'  # core: people, accounts, erasure


def upgrade():
    op.create_table('notifications_opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_opt_out')),
    sa.UniqueConstraint('channel', 'address', name=op.f('uq_notifications_opt_out_channel'))
    )
    op.create_table('notifications_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notifications_preference_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_preference')),
    sa.UniqueConstraint('person_id', 'kind', name=op.f('uq_notifications_preference_person_id'))
    )
    op.create_table('notifications_profile',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('no_smartphone', sa.Boolean(), nullable=False),
    sa.Column('visual_impairment', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notifications_profile_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_notifications_profile'))
    )
    op.create_table('notifications_print_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('assembled_at', sa.DateTime(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(), nullable=True),
    sa.Column('downloaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['downloaded_by_id'], ['user_account.id'], name=op.f('fk_notifications_print_batch_downloaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_print_batch')),
    sa.UniqueConstraint('day', name=op.f('uq_notifications_print_batch_day'))
    )
    op.create_table('notifications_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_notifications_template_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_template')),
    sa.UniqueConstraint('kind', 'channel', 'locale', name=op.f('uq_notifications_template_kind'))
    )
    op.create_table('notifications_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=False),
    sa.Column('recipient_name', sa.String(length=250), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'delivered', 'failed', 'bounced', 'cancelled', name='status', native_enum=False, length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('worker', sa.String(length=80), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('sent_subject', sa.String(length=300), nullable=True),
    sa.Column('sent_text', sa.Text(), nullable=True),
    sa.Column('fallback_of_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=60), nullable=True),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['notifications_print_batch.id'], name=op.f('fk_notifications_message_batch_id_notifications_print_batch'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['fallback_of_id'], ['notifications_message.id'], name=op.f('fk_notifications_message_fallback_of_id_notifications_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notifications_message_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notifications_message_idempotency_key'))
    )
    with op.batch_alter_table('notifications_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_message_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_notifications_message_due', ['status', 'not_before'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_message_fallback_of_id'), ['fallback_of_id'], unique=False)
        batch_op.create_index('ix_notifications_message_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_message_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_message_provider_ref'), ['provider_ref'], unique=False)

    op.create_table('notifications_message_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['notifications_message.id'], name=op.f('fk_notifications_message_event_message_id_notifications_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_message_event'))
    )
    with op.batch_alter_table('notifications_message_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_message_event_message_id'), ['message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('notifications_message_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_message_event_message_id'))

    op.drop_table('notifications_message_event')
    with op.batch_alter_table('notifications_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_message_provider_ref'))
        batch_op.drop_index(batch_op.f('ix_notifications_message_person_id'))
        batch_op.drop_index('ix_notifications_message_object')
        batch_op.drop_index(batch_op.f('ix_notifications_message_fallback_of_id'))
        batch_op.drop_index('ix_notifications_message_due')
        batch_op.drop_index(batch_op.f('ix_notifications_message_batch_id'))

    op.drop_table('notifications_message')
    op.drop_table('notifications_template')
    op.drop_table('notifications_print_batch')
    op.drop_table('notifications_profile')
    op.drop_table('notifications_preference')
    op.drop_table('notifications_opt_out')
