"""Tenants' files (dossiers locataires) for staff: find a person, open their file.

Opening a file is recorded in the audit log (who viewed whose file, when, from where): staff
see personal data there, and a tenant may ask who did.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, false, func, or_, select

from core import audit
from core.accounts import User
from core.db import writes
from core.estate import Lease, Person, current_lease, people_visible_to
from core.extensions import db
from core.personal_data import erase_person
from core.web.access import permission_required
from core.web.forms import EraseForm, PeopleSearchForm

bp = Blueprint("tenant_files", __name__, url_prefix="/backoffice/people")

# A search shows at most this many people: past that, staff narrow it down.
SEARCH_LIMIT = 50


def people_matching(text: str, user, limit: int = SEARCH_LIMIT) -> list[Person]:
    """People whose name holds every word of ``text``, or whose lease or own reference is
    ``text`` (any case)."""
    words = text.split()
    reference = text.strip().lower()
    by_name = and_(*(or_(Person.first_name.icontains(word, autoescape=True),
                         Person.last_name.icontains(word, autoescape=True))
                     for word in words)) if words else false()
    by_lease = Person.household_id.in_(
        select(Lease.household_id).where(func.lower(Lease.reference) == reference))
    query = (select(Person)
             .where(or_(by_name, by_lease, func.lower(Person.reference) == reference),
                    people_visible_to(user))
             .order_by(Person.last_name, Person.first_name, Person.id)
             .limit(limit))
    return list(db.session.scalars(query))


@bp.route("")
@permission_required("core.view_tenant_files")
def search():
    """Search people by name or lease reference."""
    form = PeopleSearchForm(request.args)
    if "q" not in request.args:
        return render_template("backoffice/people/search.html", form=form, people=None)
    if not form.validate():
        return render_template("backoffice/people/search.html", form=form, people=None), 400
    people = people_matching(form.q.data, current_user)
    return render_template("backoffice/people/search.html", form=form, people=people,
                           limit=SEARCH_LIMIT)


@bp.route("/<int:person_id>")
@permission_required("core.view_tenant_files")
@writes
def tenant_file(person_id: int):
    """A tenant's file: person, household, current lease and dwelling, account. Recorded."""
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_visible_to(current_user)))
    if person is None:  # unknown, or not one of this caretaker's occupants: not found
        abort(404)
    audit.record("view_tenant_file", obj=person)
    page = render_template(
        "backoffice/people/file.html", person=person,
        lease=current_lease(person, date.today()),
        accounts=list(db.session.scalars(select(User).where(User.person_id == person.id))))
    db.session.commit()
    return page


@bp.route("/<int:person_id>/erase", methods=["GET", "POST"])
@permission_required("core.erase_person")
def erase(person_id: int):
    """Erase a person (droit à l'effacement): a confirmation, then everything that names them
    goes, except what the law keeps (pseudonymised)."""
    person = db.session.scalar(select(Person).where(
        Person.id == person_id, Person.erased_at.is_(None), people_visible_to(current_user)))
    if person is None:
        abort(404)
    form = EraseForm()
    full_name = f"{person.first_name} {person.last_name}".strip()
    if not form.validate_on_submit():
        return render_template("backoffice/people/erase.html", person=person, form=form,
                               full_name=full_name), 400 if form.errors else 200
    if form.confirm.data.strip().casefold() != full_name.casefold():
        form.confirm.errors.append(_("Type the person's name exactly as shown to confirm."))
        return render_template("backoffice/people/erase.html", person=person, form=form,
                               full_name=full_name), 400
    blanked = erase_person(person)
    flash(_("The person is erased: accounts, files and mail removed, %(count)s audit records "
            "blanked, the lease kept under a pseudonym.", count=blanked), "success")
    return redirect(url_for("tenant_files.search"))
