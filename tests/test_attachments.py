"""Attachments: hostile uploads refused or cleaned, files tied to their rows, served only to
those who may see them, with download headers a browser cannot misread."""
from __future__ import annotations

import hashlib
import io
import re
import secrets
import struct
import time
import zlib
from pathlib import Path

import pytest
from flask import Blueprint, request
from flask_login import current_user
from PIL import ExifTags, Image
from sqlalchemy import func, select

from core import Plugin, hookimpl
from core.attachments import (
    Attachment,
    AttachmentRejected,
    delete_attachment,
    file_path,
    open_attachment,
    storage_root,
    store_document,
    store_image,
)
from core.extensions import db
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token
from core.web.access import tenant_required

WRONG_TYPE = ("Ce type de fichier n’est pas accepté : envoyez une photo au format JPEG, PNG, "
              "WebP ou HEIC.")
DAMAGED = "Ce fichier est endommagé ou incomplet : veuillez l’envoyer de nouveau."
TOO_MANY_PIXELS = "Cette image compte trop de pixels : 40 mégapixels au maximum."
GPS_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'exif:GPSLatitude="43,12.5N" exif:GPSLongitude="2,21.08E"/></rdf:RDF></x:xmpmeta>')


# --- files made for the tests --------------------------------------------------------------

def two_colour_image(size=(40, 20), mode="RGB"):
    """Left half red, right half blue: shows which way a photo was turned."""
    width, height = size
    image = Image.new(mode, size)
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def encoded(image, fmt, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: sideways pixels with an orientation tag, the place where
    it was taken (EXIF GPS and XMP), the phone's make and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # turn 90° clockwise to display
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (43.0, 12.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 21.0, 5.0),
    }
    data = encoded(two_colour_image(), "JPEG", exif=exif, xmp=GPS_XMP,
                   comment=b"secret comment")
    sent = Image.open(io.BytesIO(data))
    assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo carries GPS tags"
    return data


def noisy_jpeg(size=(200, 200)) -> bytes:
    return encoded(Image.frombytes("RGB", size, secrets.token_bytes(size[0] * size[1] * 3)),
                   "JPEG", quality=95)


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a pixel flood)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


HOSTILE_FILES = {
    "html renamed .jpg": (b"<!DOCTYPE html><html><body><script>alert(document.cookie)"
                          b"</script></body></html>", WRONG_TYPE),
    "svg with a script": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                          b"<script>alert(1)</script><rect width='10' height='10'/></svg>",
                          WRONG_TYPE),
    "gif": (encoded(two_colour_image(), "GIF"), WRONG_TYPE),
    "bmp": (encoded(two_colour_image(), "BMP"), WRONG_TYPE),
    "tiff": (encoded(two_colour_image(), "TIFF"), WRONG_TYPE),
    # A real JPEG whose first comment is a PDF header: PDF readers open it as a document.
    "pdf/jpeg polyglot": (encoded(two_colour_image(), "JPEG", comment=(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript"
        b"/JS(app.alert(1))>>>>endobj\n")), WRONG_TYPE),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", WRONG_TYPE),
    "truncated jpeg": (noisy_jpeg()[:6000], DAMAGED),
    "text": (b"just some words, not a picture", WRONG_TYPE),
    "empty": (b"", "Le fichier est vide."),
}


# --- helpers -------------------------------------------------------------------------------

def stored_files(app) -> list[Path]:
    root = storage_root(app)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def attachment_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Attachment.id)))


def store(app, data, filename="photo.jpg", person_id=None, **fields):
    """Store a photo in its own request and commit; return the attachment, detached."""
    with app.test_request_context("/"):
        attachment = store_image(data, filename=filename, owner_type="probe", owner_id=1,
                                 person_id=person_id, uploaded_by=None, **fields)
        db.session.commit()
        db.session.refresh(attachment)
        db.session.expunge(attachment)
        return attachment


def rejection(app, data, filename="photo.jpg") -> str:
    with app.test_request_context("/"):
        with pytest.raises(AttachmentRejected) as caught:
            store_image(data, filename=filename, owner_type="probe", owner_id=1,
                        person_id=None, uploaded_by=None)
        db.session.rollback()
        return str(caught.value)


def opened(path: Path) -> Image.Image:
    """A stored image, read into memory (no file left open)."""
    return Image.open(io.BytesIO(path.read_bytes()))


def path_of(app, attachment) -> Path:
    with app.app_context():
        return file_path(attachment)


# --- what is stored ------------------------------------------------------------------------

def test_a_phone_photo_is_stored_upright_without_any_metadata(app):
    attachment = store(app, phone_photo(), filename="IMG_0042.jpeg")
    data = path_of(app, attachment).read_bytes()
    for trace in (b"Exif", b"GPS", b"http://ns.adobe.com/xap", b"xmpmeta", b"secret comment",
                  b"PhoneMaker"):
        assert trace not in data
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and dict(stored.getexif()) == {}
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(stored.info)
    # Turned as the phone said: the left (red) half is now on top.
    assert stored.size == (20, 40)
    red, green, blue = stored.convert("RGB").getpixel((10, 5))
    assert red > 200 and blue < 60
    red, green, blue = stored.convert("RGB").getpixel((10, 35))
    assert blue > 200 and red < 60
    assert (attachment.media_type, attachment.width, attachment.height) == ("image/jpeg", 20, 40)
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.original_name == "IMG_0042.jpg"


def test_files_live_in_the_instance_folder_under_generated_names(app):
    attachment = store(app, phone_photo())
    path = path_of(app, attachment)
    assert re.fullmatch(r"[0-9a-f]{48}", attachment.storage_name)  # 192 random bits
    assert path == Path(app.instance_path) / "attachments" / attachment.storage_name[:2] / \
        attachment.storage_name
    assert stored_files(app) == [path]
    with app.app_context():
        with open_attachment(attachment) as stream:
            assert stream.read() == path.read_bytes()


def test_large_photos_are_scaled_down(make_app):
    app = make_app(ATTACHMENTS_MAX_DIMENSION=100)
    attachment = store(app, encoded(two_colour_image((400, 200)), "JPEG"))
    assert opened(path_of(app, attachment)).size == (100, 50)
    assert (attachment.width, attachment.height) == (100, 50)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_opaque_png_and_webp_become_jpeg(app, fmt):
    attachment = store(app, encoded(two_colour_image(), fmt), filename=f"plan.{fmt.lower()}")
    assert opened(path_of(app, attachment)).format == "JPEG"
    assert (attachment.media_type, attachment.original_name) == ("image/jpeg", "plan.jpg")


def test_transparent_images_stay_transparent_as_png(app):
    image = two_colour_image(mode="RGBA")
    image.putpixel((0, 0), (0, 0, 0, 0))
    attachment = store(app, encoded(image, "PNG"), filename="logo.png")
    stored = opened(path_of(app, attachment))
    assert stored.format == "PNG" and stored.mode == "RGBA"
    assert stored.getpixel((0, 0))[3] == 0
    assert attachment.media_type == "image/png"


def test_heic_photos_from_iphones_are_accepted(app):
    try:
        heic = encoded(two_colour_image(), "HEIF")
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"pillow-heif cannot encode HEIC here: {exc}")
    attachment = store(app, heic, filename="IMG_1234.HEIC")
    stored = opened(path_of(app, attachment))
    assert stored.format == "JPEG" and stored.size == (40, 20)
    assert attachment.original_name == "IMG_1234.jpg"


# --- what is refused -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_files_are_refused_and_nothing_is_written(app, kind):
    data, message = HOSTILE_FILES[kind]
    assert rejection(app, data, filename="photo.jpg") == message
    assert stored_files(app) == [] and attachment_rows(app) == 0


def test_a_pixel_flood_is_refused_from_its_header_before_decoding(app):
    flood = png_header(50_000, 50_000)
    assert len(flood) < 200
    started = time.perf_counter()
    assert rejection(app, flood, filename="flood.png") == TOO_MANY_PIXELS
    assert time.perf_counter() - started < 0.5
    assert stored_files(app) == [] and attachment_rows(app) == 0


def test_the_pixel_cap_is_read_from_the_header(app):
    # 49 megapixels: under Pillow's own bomb limit, over Palier's. The pixel data is a few bytes
    # and would be found damaged if it were decoded: the header alone decides.
    assert rejection(app, png_header(7_000, 7_000)) == TOO_MANY_PIXELS
    # The same file under the cap is decoded, and found damaged.
    assert rejection(app, png_header(700, 700)) == DAMAGED
    assert stored_files(app) == [] and attachment_rows(app) == 0


class EndlessUpload(io.RawIOBase):
    """An upload that never ends; counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"\xff" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_an_oversized_file_is_refused_without_reading_it_all(make_app):
    app = make_app(ATTACHMENTS_MAX_BYTES=2 * 1024 * 1024)
    upload = EndlessUpload()
    assert rejection(app, upload) == "Ce fichier est trop volumineux : 2 Mo au maximum."
    assert upload.read_bytes <= 2 * 1024 * 1024 + 1
    assert stored_files(app) == [] and attachment_rows(app) == 0


def test_messages_follow_the_users_language(app):
    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        with pytest.raises(AttachmentRejected) as caught:
            store_image(b"GIF89a", owner_type="probe", owner_id=1, person_id=None,
                        uploaded_by=None)
        assert str(caught.value).startswith("This file type is not accepted")


@pytest.mark.parametrize("hostile_name", [
    "../../x.jpg", "..\\..\\x.jpg", "/etc/cron.d/x.jpg", "photo\x00.php.jpg", "é" * 300 + ".jpg",
    "facture\u202egpj.exe", "\u202e", "", "...",
])
def test_hostile_file_names_never_reach_the_disk(app, hostile_name):
    attachment = store(app, phone_photo(), filename=hostile_name)
    files = stored_files(app)
    assert files == [path_of(app, attachment)]
    assert files[0].name == attachment.storage_name
    assert files[0].parent.parent == storage_root(app)
    name = attachment.original_name
    assert not set(name) & {"/", "\\", "\x00", "\u202e"}
    assert len(name) <= 104 and name.endswith(".jpg") and not name.startswith(".")
    if hostile_name == "facture\u202egpj.exe":
        assert name == "facturegpj.jpg"  # no longer displayed as "factureexe.jpg"


# --- files follow their rows ---------------------------------------------------------------

def test_a_database_failure_removes_the_written_file(app):
    with app.test_request_context("/"):
        with pytest.raises(Exception, match="(?i)foreign key"):
            store_image(phone_photo(), owner_type="probe", owner_id=1, person_id=999_999,
                        uploaded_by=None)
        db.session.rollback()
    assert stored_files(app) == [] and attachment_rows(app) == 0


def test_files_of_rolled_back_or_abandoned_transactions_are_removed(app):
    with app.test_request_context("/"):
        store_image(phone_photo(), owner_type="probe", owner_id=1, person_id=None,
                    uploaded_by=None)
        assert len(stored_files(app)) == 1
        db.session.rollback()
        assert stored_files(app) == []

        store_image(phone_photo(), owner_type="probe", owner_id=1, person_id=None,
                    uploaded_by=None)
    # The request ended without a commit: the session was closed, the file went with it.
    assert stored_files(app) == [] and attachment_rows(app) == 0


def test_a_rolled_back_savepoint_removes_only_its_own_files(app):
    with app.test_request_context("/"):
        kept = store_image(phone_photo(), owner_type="probe", owner_id=1, person_id=None,
                           uploaded_by=None)
        savepoint = db.session.begin_nested()
        store_image(phone_photo(), owner_type="probe", owner_id=2, person_id=None,
                    uploaded_by=None)
        savepoint.rollback()
        with db.session.begin_nested():
            released = store_image(phone_photo(), owner_type="probe", owner_id=3,
                                   person_id=None, uploaded_by=None)
        db.session.commit()
        assert stored_files(app) == sorted([file_path(kept), file_path(released)])
    assert attachment_rows(app) == 2


def test_a_deleted_attachment_loses_its_file_when_the_deletion_commits(app):
    attachment = store(app, phone_photo())
    path = path_of(app, attachment)
    with app.test_request_context("/"):
        delete_attachment(db.session.get(Attachment, attachment.id))
        db.session.rollback()
    assert path.is_file() and attachment_rows(app) == 1
    with app.test_request_context("/"):
        delete_attachment(db.session.get(Attachment, attachment.id))
        assert path.is_file()  # not before the commit
        db.session.commit()
    assert not path.exists() and attachment_rows(app) == 0


def test_documents_are_checked_against_their_type(app):
    with app.test_request_context("/"):
        with pytest.raises(ValueError, match="not application/pdf"):
            store_document(b"<html>", filename="x.pdf", owner_type="letter", owner_id=1,
                           person_id=None)
        with pytest.raises(ValueError, match="not stored"):
            store_document(b"<html>", filename="x.html", owner_type="letter", owner_id=1,
                           person_id=None, media_type="text/html")
        with pytest.raises(ValueError, match="owner_type"):
            store_image(phone_photo(), owner_type="../claims", owner_id=1, person_id=None,
                        uploaded_by=None)
    assert stored_files(app) == []


# --- serving -------------------------------------------------------------------------------

@pytest.fixture
def two_tenants(app, make_tenant, login):
    """Two logged-in tenants; the first owns a photo and a letter (PDF)."""
    owner, other = make_tenant(first_name="Nadia"), make_tenant(first_name="Paul")
    photo = store(app, phone_photo(), person_id=owner.person_id)
    with app.test_request_context("/"):
        letter = store_document(b"%PDF-1.4\n%%EOF\n", filename="Lettre d’avis — été.pdf",
                                owner_type="letter", owner_id=7, person_id=owner.person_id)
        db.session.commit()
        letter_name = letter.storage_name
    owner_client, other_client = app.test_client(), app.test_client()
    login(owner_client, owner)
    login(other_client, other)
    return owner_client, other_client, photo, letter_name


def assert_safe_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp


def test_the_owner_sees_their_photo_inline(app, two_tenants):
    owner, _other, photo, _letter = two_tenants
    response = owner.get(f"/attachments/{photo.storage_name}", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith('inline; filename="photo.jpg"')
    assert_safe_headers(response)
    assert response.data == path_of(app, photo).read_bytes()
    again = owner.get(f"/attachments/{photo.storage_name}", buffered=True,
                      headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_another_tenant_gets_not_found_for_the_same_url(two_tenants):
    _owner, other, photo, letter = two_tenants
    for name in (photo.storage_name, letter):
        response = other.get(f"/attachments/{name}")
        assert response.status_code == 404
        assert "Cette page n’existe pas" in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client, two_tenants):
    _owner, _other, photo, _letter = two_tenants
    response = client.get(f"/attachments/{photo.storage_name}")
    assert response.status_code == 302 and "/login?next=" in response.location


def test_a_document_is_served_as_a_download(two_tenants):
    owner, _other, _photo, letter = two_tenants
    response = owner.get(f"/attachments/{letter}", buffered=True)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Lettre_d_avis_ete.pdf\"; "
        "filename*=UTF-8''Lettre%20d%E2%80%99avis%20%E2%80%94%20%C3%A9t%C3%A9.pdf")
    assert_safe_headers(response)


def test_guessed_or_malformed_names_are_not_found(two_tenants):
    owner, _other, _photo, _letter = two_tenants
    for name in (secrets.token_hex(24), "0" * 48, "x", "..%2F..%2Fpalier.sqlite3", "A" * 48):
        assert owner.get(f"/attachments/{name}").status_code == 404


def test_staff_see_only_what_a_plugin_allows_and_admins_see_all(app, two_tenants, make_user,
                                                                login):
    _owner, _other, photo, _letter = two_tenants
    agent, admin = app.test_client(), app.test_client()
    login(agent, make_user("agent"))
    login(admin, make_user("admin"))
    assert agent.get(f"/attachments/{photo.storage_name}").status_code == 404
    response = admin.get(f"/attachments/{photo.storage_name}", buffered=True)
    assert response.status_code == 200 and response.data.startswith(b"\xff\xd8")


def test_a_row_without_its_file_is_not_found(app, two_tenants):
    owner, _other, photo, _letter = two_tenants
    path_of(app, photo).unlink()
    assert owner.get(f"/attachments/{photo.storage_name}", buffered=True).status_code == 404


# --- a plugin's own upload form ------------------------------------------------------------

class ClaimPhotos(Plugin):
    """A throw-away plugin: tenants send a photo through a multipart form."""

    name = "probe"

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("probe", __name__, url_prefix="/probe")

        @bp.route("/photos", methods=["POST"])
        @tenant_required
        def upload():
            try:
                attachment = store_image(request.files["photo"], owner_type="probe",
                                         owner_id=1, person_id=current_user.person_id,
                                         uploaded_by=current_user)
            except AttachmentRejected as exc:
                return str(exc), 400
            db.session.commit()
            return f"/attachments/{attachment.storage_name}", 201

        return [bp]


def test_a_plugin_form_uploads_a_photo_through_the_api(make_app, make_tenant, login):
    app = make_app(plugins=["probe"], extra_plugins={"probe": ClaimPhotos()})
    tenant = make_tenant()
    client = app.test_client()
    login(client, tenant)
    token = csrf_token(client, "/portal/")

    refused = client.post("/probe/photos", content_type="multipart/form-data", data={
        "csrf_token": token,
        "photo": (io.BytesIO(HOSTILE_FILES["html renamed .jpg"][0]), "photo.jpg"),
    })
    assert refused.status_code == 400 and refused.get_data(as_text=True) == WRONG_TYPE
    assert attachment_rows(app) == 0 and stored_files(app) == []

    response = client.post("/probe/photos", content_type="multipart/form-data", data={
        "csrf_token": token, "photo": (io.BytesIO(phone_photo()), "../../cuisine.jpg"),
    })
    assert response.status_code == 201
    url = response.get_data(as_text=True)
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert (attachment.original_name, attachment.uploaded_by_id, attachment.person_id) == (
            "cuisine.jpg", tenant.id, tenant.person_id)
    shown = client.get(url, buffered=True)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert b"GPS" not in shown.data


# --- in a real browser ---------------------------------------------------------------------

@pytest.mark.browser
def test_a_browser_shows_the_photo_under_the_download_policy(page, live_app, make_tenant):
    tenant = make_tenant()
    photo = store(live_app, phone_photo(), person_id=tenant.person_id)
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(tenant.email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/portal/")
    blocked = []
    page.on("console", lambda message: blocked.append(message.text))
    response = page.goto(f"/attachments/{photo.storage_name}")
    assert response.status == 200
    # The browser built its image page around the photo, upright, and the policy blocked
    # nothing it needed.
    assert page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]"
                         ) == [20, 40]
    assert blocked == []
