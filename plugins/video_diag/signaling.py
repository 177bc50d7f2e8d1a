"""The ``/video`` Socket.IO namespace: relays the signaling of one appointment's call.

Who connects, with what (the connect ``auth`` dict):

- the appointment's technician, logged in (a staff session): ``{"appointment": <id>}``;
- the tenant, or the one declared helper, without an account: ``{"link": "<secret>"}``, the
  secret of their link (:mod:`plugins.video_diag.links`), checked for its window and revocation.

Each appointment has a room holding at most one tenant, one technician and one helper: a second
connection for a taken place is refused (a forwarded link does not let a third person in while
the tenant is there). Every message is the ``signal`` event carrying a message of
:mod:`plugins.video_diag.wire`; it is validated, stamped with the sender's place (``from``) and
sent to the others of the room only: never broadcast, never echoed. A refused message gets a
``signal_error`` event back to its sender only. Every message checks the credential again: a
revoked link, a link past its grace period or an ended session loses its socket.

Who is in which room is kept in this process: several processes behind a Redis message queue
would each enforce the limit on their own connections only (to do before such a deployment).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import request
from flask_login import current_user
from flask_socketio import disconnect, emit, join_room, leave_room

from core.accounts import Role
from core.extensions import db
from core.realtime import AuthenticatedNamespace
from plugins.video_diag import links, turn, wire
from plugins.video_diag.models import Appointment, AppointmentStatus, VideoLink

TENANT, TECHNICIAN, HELPER = "tenant", "technician", "helper"


@dataclass(frozen=True)
class Participant:
    appointment_id: int
    place: str  # tenant, technician or helper
    user_id: int | None = None  # the technician's account
    link_id: int | None = None  # the tenant's or helper's link

    @property
    def room(self) -> str:
        return f"video_diag:{self.appointment_id}"


class VideoNamespace(AuthenticatedNamespace):
    """Signaling of video diagnosis calls, one room per appointment.

    ``roles`` are the staff roles that may hold a call (with an appointment of theirs); tenants
    and helpers come with a link instead of a session. A connection without an appointment or a
    link is refused whatever the role, which is what :meth:`allows` declares.
    """

    roles = frozenset({Role.TECHNICIAN})
    event_roles: dict = {}

    def __init__(self, namespace):
        super().__init__(namespace)
        self._lock = threading.Lock()
        self._participants: dict[str, Participant] = {}  # by socket id
        self._places: dict[int, dict[str, str]] = {}  # appointment id → place → socket id

    # -- policy ------------------------------------------------------------------------------

    def allows(self, role, event=None) -> bool:
        """The policy of a connection that names no appointment nor link: nobody."""
        return False

    def _participant_for(self, auth) -> tuple[Participant, Appointment] | None:
        if not isinstance(auth, dict):
            return None
        secret = auth.get("link")
        if secret is not None:
            link = links.find_link(secret)
            if link is None:
                return None
            place = HELPER if link.helper_name else TENANT
            return (Participant(link.appointment_id, place, link_id=link.id), link.appointment)
        appointment_id = auth.get("appointment")
        if (isinstance(appointment_id, bool) or not isinstance(appointment_id, int)
                or not current_user.is_authenticated or current_user.role not in self.roles):
            return None
        appointment = db.session.get(Appointment, appointment_id)
        if (appointment is None or appointment.technician_id != current_user.id
                or appointment.status is not AppointmentStatus.SCHEDULED):
            return None
        return Participant(appointment.id, TECHNICIAN, user_id=current_user.id), appointment

    def authorize(self, auth) -> bool:
        """At each message: the socket's credential still holds."""
        participant = self._participants.get(request.sid)
        if participant is None:
            return False
        if participant.link_id is not None:
            link = db.session.get(VideoLink, participant.link_id)
            return link is not None and links.is_open(link)
        return current_user.is_authenticated and current_user.id == participant.user_id

    # -- connection --------------------------------------------------------------------------

    def on_connect(self, auth=None):
        found = self._participant_for(auth)
        if found is None:
            raise ConnectionRefusedError("unauthorized")
        participant, appointment = found
        with self._lock:
            places = self._places.setdefault(participant.appointment_id, {})
            if participant.place in places:
                raise ConnectionRefusedError("place taken")
            places[participant.place] = request.sid
            self._participants[request.sid] = participant
        join_room(participant.room)
        user_key = f"video_diag-{appointment.id}-{participant.place}"
        emit("joined", {"place": participant.place, "appointment": appointment.id,
                        "ice_servers": turn.ice_servers(appointment, user_key)})
        emit("signal", {"type": "join", "role": participant.place, "from": participant.place},
             to=participant.room, include_self=False)

    def on_disconnect(self, *args):
        with self._lock:
            participant = self._participants.pop(request.sid, None)
            if participant is None:
                return
            places = self._places.get(participant.appointment_id, {})
            if places.get(participant.place) == request.sid:
                del places[participant.place]
            if not places:
                self._places.pop(participant.appointment_id, None)
        leave_room(participant.room)
        emit("signal", {"type": "bye", "reason": "disconnected", "from": participant.place},
             to=participant.room, include_self=False)

    def on_signal(self, message=None):
        participant = self._participants.get(request.sid)
        if participant is None:  # authorize() let nobody else through
            disconnect()
            return
        try:
            clean = wire.validate(message)
        except wire.WireError as error:
            emit("signal_error", {"reason": error.reason})  # to the sender only
            return
        if clean["type"] == "join":
            clean["role"] = participant.place  # the server knows who is who
        clean["from"] = participant.place
        emit("signal", clean, to=participant.room, include_self=False)
