"""Personal data (RGPD): a tenant downloads everything; an administrator erases a person."""
import io
import json
import zipfile
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.accounts import User
from core.attachments import store_image
from core.audit import AuditEvent, verify_chain
from core.estate import Lease, Person
from core.extensions import db
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token
from core.testing.traces import occurrences

MARKER = "zq7marqueur"


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def attach_photo(app, person_id, name):
    with app.test_request_context("/"):
        store_image(photo_bytes(), filename=name, owner_type="claim", owner_id=1,
                    person_id=person_id, uploaded_by=None)
        db.session.commit()


def test_tenant_downloads_all_their_data(app, make_tenant, login):
    tenant = make_tenant(first_name="Yacine", last_name="Ferreira")
    attach_photo(app, tenant.person_id, "fuite-cuisine.jpg")
    client = app.test_client()
    login(client, tenant)
    assert "Télécharger mes données" in client.get("/portal/my-data").get_data(as_text=True)

    response = client.get("/portal/my-data/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="mes-donnees.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("donnees.json"))
    assert data["personne"]["prenom"] == "Yacine" and data["personne"]["nom"] == "Ferreira"
    assert data["menage"]["baux"][0]["adresse"][2] == "11000 Carcassonne"
    assert data["comptes"][0]["email"] == tenant.email
    assert data["fichiers"][0]["nom"] == "fuite-cuisine.jpg"
    photo = next(n for n in archive.namelist() if n.startswith("fichiers/"))
    assert Image.open(io.BytesIO(archive.read(photo))).size == (16, 16)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == "export_personal_data",
            AuditEvent.person_id == tenant.person_id)) == 1


def test_a_tenant_cannot_download_someone_else(app, make_tenant, make_user, login):
    agent = app.test_client()
    login(agent, make_user("agent"))
    assert agent.get("/portal/my-data/download").status_code == 403


def planted_everywhere(app, client, login, make_tenant, make_user):
    """A tenant whose unique marker is in the database, files, mail and audit log."""
    tenant = make_tenant(first_name=MARKER.capitalize(), last_name="Testeur",
                         email=f"{MARKER}@example.org")
    with app.app_context():
        person = db.session.get(Person, tenant.person_id)
        person.email, person.phone = f"{MARKER}@example.org", "06 12 34 56 78"
        db.session.commit()
    attach_photo(app, tenant.person_id, f"{MARKER}-photo.jpg")
    login(client, tenant)  # audit: login by the tenant
    other = app.test_client()  # audit: a failed login naming the address
    other.post("/login", data={"csrf_token": csrf_token(other, "/login"),
                               "email": f"{MARKER}@example.org", "password": "wrong"})
    other.post("/password/forgot", data={"csrf_token": csrf_token(other, "/password/forgot"),
                                         "email": f"{MARKER}@example.org"})  # mailbox + token
    agent = app.test_client()
    login(agent, make_user("agent"))
    agent.get(f"/backoffice/people/{tenant.person_id}")  # audit: the file was viewed
    if "notifications" in app.config["PLUGINS"]:  # outbox payload, proof of what was sent
        from plugins.notifications import notify
        from plugins.notifications.worker import Worker

        with app.app_context():
            notify(db.session.get(Person, tenant.person_id), "notifications.notice",
                   {"title": f"Avis pour {MARKER}", "body": f"Bonjour {MARKER}",
                    "residence": "R"}, event="notice:planted")
            notify(db.session.get(Person, tenant.person_id), "notifications.notice",
                   {"title": f"Avis pour {MARKER}", "body": "b", "residence": "R"},
                   event="notice:planted-later", not_before=datetime(2100, 1, 1))
            db.session.commit()
        Worker(app, poll_seconds=0).run(until_idle=True)
    return tenant


def test_erasing_a_person_leaves_no_trace_but_the_pseudonymised_lease(app, make_tenant,
                                                                       make_user, login):
    tenant_client = app.test_client()
    tenant = planted_everywhere(app, tenant_client, login, make_tenant, make_user)
    planted = occurrences(app, MARKER)
    assert len(planted) >= 5  # the marker really is everywhere
    assert any(place.startswith("notifications_message:") for place in planted)

    admin = app.test_client()
    login(admin, make_user("admin"))
    url = f"/backoffice/people/{tenant.person_id}/erase"
    page = admin.get(url).get_data(as_text=True)
    assert "Cette action est irréversible." in page
    refused = admin.post(url, data={"csrf_token": csrf_token(admin, url), "confirm": "Testeur"})
    assert refused.status_code == 400 and occurrences(app, MARKER)
    response = admin.post(url, data={"csrf_token": csrf_token(admin, url),
                                     "confirm": f"{MARKER.capitalize()} Testeur"})
    assert response.status_code == 302

    assert occurrences(app, MARKER) == []
    assert occurrences(app, "06 12 34 56 78") == []
    with app.app_context():
        person = db.session.get(Person, tenant.person_id)
        assert person.last_name == f"Personne effacée n° {tenant.person_id}"
        assert db.session.scalar(select(func.count(Lease.id)).where(
            Lease.household_id == person.household_id)) == 1  # the lease is kept
        assert db.session.get(User, tenant.id) is None
        assert verify_chain().ok, verify_chain().problem
    assert tenant_client.get("/portal/").status_code == 302  # the account is gone
    assert admin.get(url).status_code == 404  # nothing left to erase


def test_only_an_administrator_may_erase(app, make_tenant, make_user, login):
    tenant = make_tenant()
    agent = app.test_client()
    login(agent, make_user("agent"))
    url = f"/backoffice/people/{tenant.person_id}/erase"
    assert agent.get(url).status_code == 403
    assert agent.post(url, data={"csrf_token": csrf_token(agent, "/backoffice/"),
                                 "confirm": "Camille Martin"}).status_code == 403
    with app.app_context():
        assert db.session.get(User, tenant.id) is not None


@pytest.mark.parametrize("password", [DEFAULT_PASSWORD])
def test_an_erased_tenant_cannot_log_in_again(app, make_tenant, make_user, login, password):
    tenant = make_tenant()
    admin = app.test_client()
    login(admin, make_user("admin"))
    url = f"/backoffice/people/{tenant.person_id}/erase"
    admin.post(url, data={"csrf_token": csrf_token(admin, url), "confirm": "Camille Martin"})
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                           "email": tenant.email, "password": password})
    assert response.status_code == 401


def test_an_import_does_not_bring_an_erased_person_back(app, tmp_path):
    from core.estate_import import import_estate
    from core.personal_data import erase_person

    header = ("code_agence;agence;code_residence;residence;code_postal;commune;code_batiment;"
              "batiment;adresse;code_entree;entree;code_logement;etage;porte;typologie;"
              "surface_m2;code_menage;code_bail;date_debut_bail;date_fin_bail;code_personne;"
              "civilite;prenom;nom;email;telephone")
    line = ("AG1;Agence Aude;RES1;Les Tilleuls;11000;Carcassonne;RES1-B1;Bâtiment A;"
            "12 rue des Tilleuls;RES1-B1-E1;Entrée 1;LOG1;1;101;T3;64,5;MEN1;BAIL1;01/03/2019;;"
            f"PER1;Mme;{MARKER.capitalize()};Testeur;{MARKER}@example.org;0612345678")
    path = tmp_path / "patrimoine.csv"
    path.write_text(f"{header}\n{line}\n", encoding="utf-8")
    with app.app_context():
        import_estate(path)
        person = db.session.scalar(select(Person).where(Person.reference == "PER1"))
        with app.test_request_context("/"):
            erase_person(person)
        import_estate(path)  # the ERP still has the person
        person = db.session.scalar(select(Person).where(Person.reference == "PER1"))
        assert person.erased_at is not None and person.email is None
        assert MARKER not in f"{person.first_name} {person.last_name}".lower()


def test_only_an_administrator_makes_or_disables_administrators(make_app, make_user, login):
    app = make_app(PERMISSIONS={"core.manage_accounts": ["admin", "manager"]})
    manager, admin = make_user("manager"), make_user("admin")
    client = app.test_client()
    login(client, manager)
    page = client.get("/backoffice/admin/users").get_data(as_text=True)
    assert 'value="agent"' in page and 'value="admin"' not in page
    url = f"/backoffice/admin/users/{admin.id}/active"
    response = client.post(url, data={"csrf_token": csrf_token(client,
                                                               "/backoffice/admin/users")})
    assert response.status_code == 403
