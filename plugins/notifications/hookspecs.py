"""The notifications plugin's own hooks (published through ``NotificationsPlugin.hookspecs``)."""
from pluggy import HookspecMarker

hookspec = HookspecMarker("palier")


@hookspec
def register_notification_channels():
    """Return channel classes (subclasses of
    :class:`plugins.notifications.channels.Channel`), each with a unique ``name``.

    Called once while the app is built. Only the channels named in ``NOTIFICATIONS_CHANNELS``
    are instantiated; their configuration is checked then, so a wrong setting stops start-up
    with what to fix.
    """


@hookspec
def register_notification_kinds():
    """Return :class:`plugins.notifications.kinds.MessageKind` objects: the kinds of message
    the plugin sends, each with its default texts, its documented variables and a sample
    context for previews. Names are unique, prefixed with the plugin's name
    (``claims.acknowledged``).
    """


@hookspec
def notification_status_changed(message, status):
    """A message moved to ``status`` (``queued``, ``sent``, ``delivered``, ``failed``,
    ``bounced``...). Called inside the transaction that records it: a plugin may write back
    to the object the message is about (``message.object_type``, ``message.object_id``), and
    must not commit.
    """
