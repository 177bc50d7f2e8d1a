"""Configuration layers: defaults → instance/config.py → PALIER_* → test config."""
import logging
import os

import pytest

from core import create_app
from core.config import ConfigError


@pytest.fixture
def instance(tmp_path):
    return tmp_path


def build(instance, monkeypatch, env=None, test_config=None, instance_config=None):
    for key in list(os.environ):
        if key.startswith("PALIER_"):
            monkeypatch.delenv(key)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    if instance_config is not None:
        (instance / "config.py").write_text(instance_config, encoding="utf-8")
    # No mail relay here: keep mail locally, except where a test says otherwise.
    settings = {"INSTANCE_PATH": str(instance), "MAIL_KEEP_LOCALLY": True}
    settings.update(test_config or {})
    return create_app(settings)


def test_each_layer_overrides_the_previous_one(instance, monkeypatch):
    config = ('SECRET_KEY = "from-instance"\nLANDLORD_NAME = "Instance"\n'
              'PUBLIC_URL = "https://instance.example"\nTHEME = "demo"\n')
    app = build(instance, monkeypatch, instance_config=config,
                env={"PALIER_LANDLORD_NAME": "Environment",
                     "PALIER_PUBLIC_URL": "https://env.example"},
                test_config={"PUBLIC_URL": "https://test.example"})
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["THEME"] == "demo"
    assert app.config["LANDLORD_NAME"] == "Environment"
    assert app.config["PUBLIC_URL"] == "https://test.example"
    assert app.config["ENVIRONMENT"] == "production"  # the commented default


def test_environment_values_are_parsed(instance, monkeypatch):
    app = build(instance, monkeypatch, env={
        "PALIER_SECRET_KEY": "k", "PALIER_PLUGINS": "", "PALIER_MAX_CONTENT_LENGTH": "1024",
        "PALIER_LANGUAGES": '["en", "fr"]'})
    assert app.config["MAX_CONTENT_LENGTH"] == 1024
    assert app.config["LANGUAGES"] == ["en", "fr"]
    assert app.config["PLUGINS"] == []


def test_plugins_accept_a_comma_separated_list(instance, monkeypatch):
    from core.plugins import PluginError

    with pytest.raises(PluginError, match="Unknown plugin.*claimz"):
        build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k",
                                          "PALIER_PLUGINS": "claimz, videoo"})


def test_missing_secret_key_stops_production(instance, monkeypatch):
    with pytest.raises(ConfigError, match="PALIER_SECRET_KEY"):
        build(instance, monkeypatch)


def test_development_gets_a_random_secret_key(instance, monkeypatch):
    app = build(instance, monkeypatch, env={"PALIER_ENVIRONMENT": "development"})
    assert len(app.config["SECRET_KEY"]) == 64


def test_unknown_keys_are_warned_about(instance, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="palier"):
        build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k", "PALIER_THEMME": "demo"},
              instance_config="PUBLIK_URL = 'https://x.example'\n")
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "THEMME" in warned and "PUBLIK_URL" in warned
    assert "SECRET_KEY" not in warned


@pytest.mark.parametrize("env, message", [
    ({"PALIER_ENVIRONMENT": "prod"}, "PALIER_ENVIRONMENT"),
    ({"PALIER_SOCKETIO_ASYNC_MODE": "gevent"}, "threading"),
    ({"PALIER_REMEMBER_DAYS": "90"}, "30 days"),
    ({"PALIER_THEME": "nope"}, "Theme 'nope' not found"),
])
def test_nonsense_stops_start_up_with_a_clear_message(instance, monkeypatch, env, message):
    with pytest.raises(ConfigError, match=message):
        build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k", **env})


def test_database_url_uses_psycopg_for_postgresql(instance, monkeypatch):
    app = build(instance, monkeypatch, env={
        "PALIER_SECRET_KEY": "k",
        "PALIER_DATABASE_URL": "postgresql://palier:pw@db.example/palier"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://palier:pw@db.example/palier")


def test_sqlite_database_lives_in_the_instance_folder(instance, monkeypatch):
    app = build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance}/palier.sqlite3"


def test_production_without_a_mail_relay_refuses_to_start(instance, monkeypatch):
    with pytest.raises(ConfigError, match="PALIER_MAIL_SERVER"):
        build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k"},
              test_config={"MAIL_KEEP_LOCALLY": False})
    app = build(instance, monkeypatch, env={"PALIER_SECRET_KEY": "k",
                                            "PALIER_MAIL_SERVER": "smtp.example.org"})
    assert app.config["MAIL_BACKEND"] == "smtp"
