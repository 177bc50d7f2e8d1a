"""Estate import: the file format, idempotency, errors that write nothing, the command line,
the back-office page (in a test client and in a real browser)."""
import io
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from core.estate import (
    Agency,
    Building,
    CaretakerAssignment,
    Dwelling,
    Entrance,
    Household,
    Lease,
    Person,
    Residence,
)
from core.estate_import import POSTGRES_LOCK_KEY, import_estate
from core.extensions import db
from core.testing.browser import assert_accessible
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token

HEADER = ("code_agence;agence;code_residence;residence;code_postal;commune;code_batiment;"
          "batiment;adresse;code_entree;entree;code_logement;etage;porte;typologie;surface_m2;"
          "code_menage;code_bail;date_debut_bail;date_fin_bail;code_personne;civilite;prenom;"
          "nom;email;telephone")
TILLEULS = ("AG1;Agence Aude;RES1;Les Tilleuls;11000;Carcassonne;RES1-B1;Bâtiment A;"
            "12 rue des Tilleuls;RES1-B1-E1;Entrée 1")
CANAL = ("AG1;Agence Aude;RES2;Le Canal;11100;Narbonne;RES2-B1;Bâtiment Écluse;"
         "3 quai du Canal;RES2-B1-E1;Entrée 1")
LINES = [
    f"{TILLEULS};LOG1;RDC;001;T3;64,5;MEN1;BAIL1;01/03/2019;;PER1;Mme;Camille;Martin;"
    "camille.martin@exemple.fr;06 12 34 56 78",
    f"{TILLEULS};LOG1;RDC;001;T3;64,5;MEN1;BAIL1;01/03/2019;;PER2;M.;Jean;Martin;;",
    f"{TILLEULS};LOG2;1;101;T2;45;;;;;;;;;;",
    f"{CANAL};LOG3;2;201;T4;79,2;MEN2;BAIL2;2020-06-15;;PER3;Mme;Fatou;Diallo;;04 68 00 00 00",
]
MODELS = (Agency, Residence, Building, Entrance, Dwelling, Household, Lease, Person,
          CaretakerAssignment)


def write_csv(folder, lines, header=HEADER, name="patrimoine.csv", encoding="utf-8"):
    path = folder / name
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def row_counts():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in MODELS}


def run_import(app, path, **options):
    with app.app_context():
        result = import_estate(path, **options)
        db.session.remove()
    return result


def test_a_small_file_imports_the_whole_chain(app, tmp_path, make_user, login):
    result = run_import(app, write_csv(tmp_path, LINES))
    assert result.ok and result.written and result.lines == 4
    assert {kind: counts["created"] for kind, counts in result.counts.items()} == {
        "agency": 1, "residence": 2, "building": 2, "entrance": 2, "dwelling": 3,
        "household": 2, "lease": 2, "person": 3, "caretaker": 0}
    with app.app_context():
        dwelling = db.session.scalar(select(Dwelling).where(Dwelling.reference == "LOG1"))
        assert (dwelling.floor, dwelling.door, dwelling.kind, dwelling.surface_m2) == (
            0, "001", "T3", 64.5)
        assert dwelling.address_lines == ["Les Tilleuls, Bâtiment A, Entrée 1, logement 001",
                                          "12 rue des Tilleuls", "11000 Carcassonne"]
        camille = db.session.scalar(select(Person).where(Person.reference == "PER1"))
        assert (camille.full_name, camille.email, camille.phone) == (
            "Mme Camille Martin", "camille.martin@exemple.fr", "0612345678")
        assert [p.reference for p in camille.household.members] == ["PER1", "PER2"]
        lease = camille.household.leases[0]
        assert (lease.reference, lease.dwelling.reference, str(lease.start_date)) == (
            "BAIL1", "LOG1", "2019-03-01")
        vacant = db.session.scalar(select(Dwelling).where(Dwelling.reference == "LOG2"))
        assert vacant.leases == []
        person_id = camille.id

    tenant = make_user("tenant", person_id=person_id, display_name="Camille Martin")
    client = app.test_client()
    login(client, tenant)
    page = client.get("/portal/").get_data(as_text=True)
    assert "T3 de 64,5 m²" in page
    assert "Les Tilleuls, Bâtiment A, Entrée 1, logement 001" in page


def test_importing_the_same_file_again_changes_nothing(app, tmp_path):
    path = write_csv(tmp_path, LINES)
    run_import(app, path)
    with app.app_context():
        before = row_counts()
    again = run_import(app, path)
    assert again.ok
    assert all(counts["created"] == 0 and counts.get("updated", 0) == 0
               for counts in again.counts.values())
    assert again.counts["dwelling"]["unchanged"] == 3
    assert again.counts["person"]["unchanged"] == 3
    with app.app_context():
        assert row_counts() == before


def test_a_changed_surface_and_a_new_person_are_written(app, tmp_path):
    run_import(app, write_csv(tmp_path, LINES))
    changed = [LINES[0].replace("64,5", "70"), LINES[1].replace("64,5", "70"), *LINES[2:],
               f"{CANAL};LOG3;2;201;T4;79,2;MEN2;BAIL2;2020-06-15;;PER4;;Awa;Diallo;;"]
    result = run_import(app, write_csv(tmp_path, changed, name="v2.csv"))
    assert result.counts["dwelling"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert result.counts["person"] == {"created": 1, "updated": 0, "unchanged": 3}
    with app.app_context():
        surface = db.session.scalar(select(Dwelling.surface_m2)
                                    .where(Dwelling.reference == "LOG1"))
        assert surface == 70
        assert row_counts()["Person"] == 4


def test_commas_a_byte_order_mark_and_iso_dates_are_read(app, tmp_path):
    header = HEADER.replace(";", ",")
    line = ('AG1,Agence Aude,RES1,"Les Tilleuls, bloc nord",01000,Bourg,RES1-B1,A,'
            '"1, rue Haute",RES1-B1-E1,E1,LOG1,3,301,t1 bis,"32,75",MEN1,BAIL1,2018-01-31,'
            '2030-12-31,PER1,madame,Léa,Roux,LEA.ROUX@EXEMPLE.FR,+33 6 12 34 56 78')
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{header}\r\n{line}\r\n".encode())
    result = run_import(app, path)
    assert result.ok, [p.message() for p in result.problems]
    with app.app_context():
        dwelling = db.session.scalar(select(Dwelling))
        assert (dwelling.kind, dwelling.surface_m2, dwelling.floor) == ("T1bis", 32.75, 3)
        residence = db.session.scalar(select(Residence))
        assert (residence.name, residence.postcode) == ("Les Tilleuls, bloc nord", "01000")
        person = db.session.scalar(select(Person))
        assert (person.civility, person.email, person.phone) == (
            "Mme", "lea.roux@exemple.fr", "+33612345678")
        assert str(db.session.scalar(select(Lease.end_date))) == "2030-12-31"


def test_a_file_with_errors_writes_nothing_and_names_each_line(app, tmp_path):
    run_import(app, write_csv(tmp_path, LINES))
    with app.app_context():
        before = row_counts()
    faulty = [
        LINES[0].replace("01/03/2019", "31/02/2019"),                # line 2: bad date
        f"{TILLEULS};;1;102;T2;45;;;;;;;;;;",                           # line 3: no reference
        f"{TILLEULS};LOG5;1;103;T2;-12;;;;;;;;;;",                      # line 4: negative surface
        f"{TILLEULS};LOG6;1;104;T2;45;;;;;;;;;;",                       # line 5: fine
        f"{TILLEULS};LOG6;1;104;T3;45;;;;;;;;;;",                       # line 6: contradicts 5
        f"{CANAL};LOG3;2;201;T4;79,2;MEN2;BAIL9;01/01/2020;01/01/2019;;;;;;",  # line 7: ends
        #                                                                     before it starts
    ]
    result = run_import(app, write_csv(tmp_path, faulty, name="faulty.csv"))
    assert not result.ok and not result.written
    with app.test_request_context():
        found = [(p.line, p.column, p.message()) for p in result.problems]
    assert found == [
        (2, "date_debut_bail", "Date attendue comme 01/03/2019 ou 2019-03-01, "
                               "trouvé « 31/02/2019 »."),
        (3, "code_logement", "Valeur obligatoire."),
        (4, "surface_m2", "Surface attendue comme 64,5, trouvé « -12 »."),
        (6, "typologie", "« T3 » contredit la ligne 5, où LOG6 a « T2 »."),
        (7, "date_fin_bail", "Le bail doit finir après son début (01/01/2020)."),
    ]
    with app.app_context():
        assert row_counts() == before
        assert db.session.scalar(select(Dwelling.surface_m2)
                                 .where(Dwelling.reference == "LOG1")) == 64.5


def test_an_unknown_or_missing_column_is_reported_on_line_one(app, tmp_path):
    header = HEADER.replace("surface_m2", "surface") + ";commentaire"
    result = run_import(app, write_csv(tmp_path, LINES, header=header))
    with app.test_request_context():
        found = [(p.line, p.column, p.message()) for p in result.problems]
    assert found == [(1, "surface", "Colonne inconnue « surface »."),
                     (1, "commentaire", "Colonne inconnue « commentaire »."),
                     (1, "surface_m2", "La colonne « surface_m2 » manque.")]
    with app.app_context():
        assert row_counts()["Dwelling"] == 0


def test_a_file_not_in_utf8_is_refused_with_its_line(app, tmp_path):
    result = run_import(app, write_csv(tmp_path, LINES, encoding="cp1252"))
    assert [(p.line, p.code) for p in result.problems] == [(2, "not_utf8")]


def test_caretakers_listed_per_building_replace_the_previous_ones(app, tmp_path, make_user):
    first = make_user("caretaker", email="jean.garcia@exemple.fr")
    second = make_user("caretaker", email="nadia.benali@exemple.fr")
    header = HEADER + ";email_gardien"
    lines = [line + ";Jean.Garcia@exemple.fr" for line in LINES[:3]] + [LINES[3] + ";"]
    result = run_import(app, write_csv(tmp_path, lines, header=header))
    assert result.counts["caretaker"] == {"created": 1, "removed": 0, "unchanged": 0}
    lines = [line + ";nadia.benali@exemple.fr" for line in LINES]
    result = run_import(app, write_csv(tmp_path, lines, header=header, name="v2.csv"))
    assert result.counts["caretaker"] == {"created": 2, "removed": 1, "unchanged": 0}
    with app.app_context():
        assignments = db.session.execute(select(CaretakerAssignment.user_id)).scalars().all()
        assert sorted(assignments) == [second.id, second.id]
        assert first.id not in assignments
    unknown = [line + ";personne@exemple.fr" for line in LINES[:1]]
    result = run_import(app, write_csv(tmp_path, unknown, header=header, name="v3.csv"))
    assert [(p.line, p.column, p.code) for p in result.problems] == [
        (2, "email_gardien", "unknown_caretaker")]


def test_the_command_imports_checks_and_reports(app, tmp_path):
    runner = app.test_cli_runner()
    good = write_csv(tmp_path, LINES)
    dry = runner.invoke(args=["estate", "import", "--dry-run", str(good)])
    assert dry.exit_code == 0, dry.output
    assert "Essai : 4 lignes vérifiées, rien n’a été écrit." in dry.output
    assert "Logements — ajouts : 3, mises à jour : 0, sans changement : 0" in dry.output
    with app.app_context():
        assert row_counts()["Dwelling"] == 0

    done = runner.invoke(args=["estate", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "Import terminé : 4 lignes." in done.output
    assert "Personnes — ajouts : 3, mises à jour : 0, sans changement : 0" in done.output

    bad = write_csv(tmp_path, [LINES[0].replace("64,5", "0")], name="bad.csv")
    refused = runner.invoke(args=["estate", "import", str(bad)])
    assert refused.exit_code == 1
    assert "Erreurs dans le fichier : 1. Rien n’a été écrit." in refused.output
    assert ("ligne 2, surface_m2 : La surface doit dépasser 0 et rester sous 1000 m²."
            in refused.output)


# -- the back-office page ------------------------------------------------------------------------

@contextmanager
def writes_paused(app):
    """Hold the lock an import's writing stage needs, so a test sees it half-way."""
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": POSTGRES_LOCK_KEY})
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def upload(client, path, dry_run=False):
    data = {"csrf_token": csrf_token(client, "/backoffice/estate/import/"),
            "file": (io.BytesIO(path.read_bytes()), path.name)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/backoffice/estate/import/", data=data,
                       content_type="multipart/form-data")


def wait_until_finished(client, job_url, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        news = client.get(job_url + "/progress", headers={"Accept": "application/json"}).json
        seen.append(news)
        if news["finished"]:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the import did not finish: {seen[-1]}")


def test_an_admin_uploads_follows_the_progress_and_reads_the_report(
        app, tmp_path, make_user, login):
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    assert "Import du patrimoine" in client.get("/backoffice/").get_data(as_text=True)
    response = upload(client, write_csv(tmp_path, LINES))
    assert response.status_code == 303
    job_url = response.headers["Location"]
    news = wait_until_finished(client, job_url)
    assert news[-1] == {"state": "done", "label": "Terminé", "percent": 100,
                        "finished": True, "text": ""}
    page = client.get(job_url).get_data(as_text=True)
    assert "Import terminé" in page and "4 lignes importées." in page
    assert "<th scope=\"row\">Logements</th>\n        <td>3</td>" in page
    with app.app_context():
        assert row_counts()["Person"] == 3
        from core.audit import AuditEvent

        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "estate_import"))
        assert (event.actor_id, event.actor_label) == (admin.id, admin.email)
        assert event.detail["file"] == "patrimoine.csv"  # the name uploaded, not the stored one
    listing = client.get("/backoffice/estate/import/").get_data(as_text=True)
    assert "patrimoine.csv" in listing and "Terminé" in listing


def test_the_page_lists_the_errors_of_a_faulty_file_and_writes_nothing(
        app, tmp_path, make_user, login):
    manager = make_user("manager")
    client = app.test_client()
    login(client, manager)
    faulty = write_csv(tmp_path, [LINES[0], LINES[1].replace("PER2;M.", "PER2;Dr")])
    job_url = upload(client, faulty).headers["Location"]
    assert wait_until_finished(client, job_url)[-1]["state"] == "rejected"
    page = client.get(job_url).get_data(as_text=True)
    assert "Erreurs dans le fichier : 1. Rien n’a été écrit." in page
    assert "<td>3</td>" in page and "<code>civilite</code>" in page
    assert "M., Mme, Mx ou rien attendu, trouvé « Dr »." in page
    with app.app_context():
        assert row_counts()["Dwelling"] == 0


def test_progress_is_readable_while_the_import_writes(app, tmp_path, make_user, login):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: the page would wait for the test's lock")
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    with writes_paused(app):
        job_url = upload(client, write_csv(tmp_path, LINES)).headers["Location"]
        deadline = time.monotonic() + 30
        while (news := client.get(job_url + "/progress").json)["state"] != "writing":
            assert time.monotonic() < deadline, news
            time.sleep(0.05)
        assert news["percent"] == 50 and not news["finished"]
        page = client.get(job_url).get_data(as_text=True)
        assert '<progress id="import-progress" max="100" value="50">' in page
        assert "Actualiser" in page  # works without JavaScript too
        assert upload(client, write_csv(tmp_path, LINES)).status_code == 409
    assert wait_until_finished(client, job_url)[-1]["state"] == "done"


def test_import_pages_are_for_admins_and_managers_only(app, tmp_path, make_user, login):
    for role in ("agent", "caretaker", "tenant"):
        client = app.test_client()
        login(client, make_user(role))
        assert client.get("/backoffice/estate/import/").status_code == 403
        assert client.post("/backoffice/estate/import/").status_code == 403
    manager = make_user("manager")
    client = app.test_client()
    login(client, manager)
    assert client.get("/backoffice/estate/import/").status_code == 200
    assert client.get("/backoffice/estate/import/999999").status_code == 404


def test_an_upload_without_csrf_token_or_file_is_refused(app, tmp_path, make_user, login):
    client = app.test_client()
    login(client, make_user("admin"))
    path = write_csv(tmp_path, LINES)
    response = client.post("/backoffice/estate/import/",
                           data={"file": (io.BytesIO(path.read_bytes()), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    response = client.post("/backoffice/estate/import/", data={
        "csrf_token": csrf_token(client, "/backoffice/estate/import/")})
    assert response.status_code == 400
    assert "Choisissez le fichier à importer." in response.get_data(as_text=True)
    with app.app_context():
        assert row_counts()["Dwelling"] == 0


def test_an_oversized_file_gets_413_with_a_message(make_app, tmp_path, make_user, login):
    app = make_app(ESTATE_IMPORT_MAX_BYTES=2 * 1024 * 1024)
    client = app.test_client()
    login(client, make_user("admin"))
    # Encoded in memory: the test client would spool a body this large to a temporary file
    # that it never closes when the server refuses to read it.
    boundary, body = encode_multipart({
        "csrf_token": csrf_token(client, "/backoffice/estate/import/"),
        "file": FileStorage(io.BytesIO(b"x" * (3 * 1024 * 1024)), "big.csv")})
    response = client.post("/backoffice/estate/import/", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert ("Le fichier dépasse 2 Mo, la taille maximale acceptée ici."
            in response.get_data(as_text=True))


# -- in a real browser ---------------------------------------------------------------------------

def big_file(folder, dwellings):
    lines = []
    for n in range(dwellings):
        lines.append(f"{TILLEULS};LOG{n};{n % 10};{n:05d};T3;64,5;MEN{n};BAIL{n};01/03/2019;;"
                     f"PER{n};Mme;Camille;Martin;;")
    return write_csv(folder, lines, name="export-erp.csv")


@pytest.mark.browser
def test_the_upload_page_in_a_browser_shows_progress_then_the_report(
        page, live_server, live_app, tmp_path, make_user):
    admin = make_user("admin")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(admin.email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/backoffice/")
    page.get_by_role("link", name="Import du patrimoine").click()
    page.wait_for_url("**/backoffice/estate/import/")
    assert_accessible(page)

    polled = []
    page.on("response", lambda r: polled.append(r.json()) if r.url.endswith("/progress")
            else None)
    page.get_by_label("Fichier CSV exporté de votre logiciel de gestion").set_input_files(
        str(big_file(tmp_path, 60000)))  # several seconds of work: the bar is seen moving
    page.get_by_role("button", name="Importer le fichier").click()
    page.wait_for_url("**/backoffice/estate/import/*")
    bar = page.get_by_label("Avancement de l’import")
    assert bar.is_visible()
    assert_accessible(page)
    page.get_by_role("heading", name="Import terminé").wait_for(timeout=60000)
    assert polled and polled[-1]["percent"] == 100 and polled[-1]["finished"]
    assert any(not news["finished"] for news in polled)
    assert "60\u202f000 lignes importées." in page.locator("main").inner_text()
    assert_accessible(page)


def test_an_import_is_recorded_in_the_audit_log_as_one_event(app, tmp_path):
    from core.audit import AuditEvent, verify_chain

    path = write_csv(tmp_path, LINES)
    with app.app_context():
        before = db.session.scalar(select(func.max(AuditEvent.seq))) or 0
        import_estate(path)
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.seq > before).order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["estate_import"]
        assert events[0].detail["lines"] == 4 and events[0].detail["file"] == "patrimoine.csv"
        assert verify_chain().ok
