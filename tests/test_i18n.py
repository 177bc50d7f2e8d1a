"""French by default, English on request; catalogues compiled from their sources."""
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from core.testing.fixtures import csrf_token

ROOT = Path(__file__).resolve().parent.parent


def test_pages_speak_french_by_default(client):
    page = client.get("/login", headers={"Accept-Language": "en-GB,en"}).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Connexion à votre espace" in page and "Mot de passe" in page


def test_the_language_switch_turns_the_site_to_english_and_back(client):
    token = csrf_token(client, "/login")
    response = client.post("/language", data={"csrf_token": token, "lang": "en",
                                              "next": "/login"})
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in to your space" in page
    client.post("/language", data={"csrf_token": token, "lang": "fr"})
    assert "Connexion à votre espace" in client.get("/login").get_data(as_text=True)


def test_the_language_switch_needs_its_csrf_token(client):
    client.post("/language", data={"lang": "en"})
    assert "Connexion à votre espace" in client.get("/login").get_data(as_text=True)


def test_a_logged_in_user_keeps_their_language(app, make_tenant, login):
    tenant = make_tenant()
    first = app.test_client()
    login(first, tenant)
    first.post("/language", data={"csrf_token": csrf_token(first, "/portal/"), "lang": "en"})
    second = app.test_client()  # another device, same account
    login(second, tenant)
    assert "What would you like to do?" in second.get("/portal/").get_data(as_text=True)


def test_errors_are_explained_in_french(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "Cette page n’existe pas" in response.get_data(as_text=True)


def _plain(value):
    """Plural forms come as lists or tuples depending on the reader."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_compiled_catalogues_match_their_sources():
    catalogues = [*ROOT.glob("core/translations/*/LC_MESSAGES/messages.po"),
                  *ROOT.glob("plugins/*/translations/*/LC_MESSAGES/messages.po")]
    assert len(catalogues) >= 2
    for po_path in catalogues:
        with open(po_path, "rb") as po_file:
            source = {_plain(m.id): _plain(m.string) for m in read_po(po_file) if m.id}
        with open(po_path.with_suffix(".mo"), "rb") as mo_file:
            compiled = {_plain(m.id): _plain(m.string) for m in read_mo(mo_file) if m.id}
        assert compiled == source, f"run `make translations` to compile {po_path}"
        assert all(all(v) if isinstance(v, tuple) else v for v in source.values()), \
            f"untranslated messages in {po_path}"


def test_every_message_of_the_code_is_in_the_catalogue():
    for folder in [ROOT / "core", *ROOT.glob("plugins/*")]:
        if not (folder / "translations/messages.pot").exists():
            continue
        with open(folder / "translations/messages.pot", "rb") as pot_file:
            template = {m.id for m in read_po(pot_file) if m.id}
        with open(folder / "translations/fr/LC_MESSAGES/messages.po", "rb") as po_file:
            french = {m.id for m in read_po(po_file) if m.id}
        assert template <= french, f"run `make translations` for {folder.name}"
