"""`palier serve` in both realtime modes, as a real server process, and the other commands."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from core.testing.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent
PALIER = [sys.executable, "-c", "from core.cli import main; main()"]


@pytest.fixture
def instance(tmp_path):
    """A fresh instance folder, prepared as `make run` does (init, db upgrade)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(PALIER_INSTANCE_PATH=str(tmp_path), PYTHONWARNINGS="ignore",
               PALIER_MAIL_KEEP_LOCALLY="true")
    subprocess.run([*PALIER, "init"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run([*PALIER, "db", "upgrade"], env=env, check=True, capture_output=True,
                   cwd=ROOT)
    return env


def wait_for(url, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    process.terminate()
    output = process.communicate(timeout=15)[0].decode(errors="replace")
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{output[-3000:]}")


@pytest.fixture
def serve(instance):
    processes = []

    def start(mode):
        port = free_port()
        env = dict(instance, PALIER_SOCKETIO_ASYNC_MODE=mode)
        process = subprocess.Popen([*PALIER, "serve", "--port", str(port)], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        processes.append(process)
        return f"http://127.0.0.1:{port}", process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["threading", "eventlet"])
def test_palier_serve_answers_pages_and_socketio_in_each_mode(serve, mode):
    base, process = serve(mode)
    assert wait_for(f"{base}/health", process).json() == {"status": "ok"}
    login = requests.get(f"{base}/login", timeout=5)
    assert login.status_code == 200 and "Connexion à votre espace" in login.text
    handshake = requests.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "polling"},
                             timeout=5)
    assert handshake.status_code == 200 and handshake.text.startswith("0{")
    assert '"sid"' in handshake.text


def test_palier_init_writes_a_private_secret_key_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env["PALIER_INSTANCE_PATH"] = str(tmp_path)
    first = subprocess.run([*PALIER, "init"], env=env, capture_output=True, text=True, cwd=ROOT)
    config = (tmp_path / "config.py").read_text()
    assert first.returncode == 0 and "SECRET_KEY = '" in config
    assert (tmp_path / "config.py").stat().st_mode & 0o777 == 0o600
    second = subprocess.run([*PALIER, "init"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert "left unchanged" in second.stdout and (tmp_path / "config.py").read_text() == config


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env["PALIER_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run([*PALIER, "plugins"], env=env, capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode != 0
    assert "No secret key: set PALIER_SECRET_KEY" in result.stdout + result.stderr


def test_demo_landlord_loads_twice_without_duplicates(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "238 dwellings" in first.output and "locataire@demo.palier.fr" in first.output
    second = runner.invoke(args=["demo"])
    assert second.output.splitlines()[0] == first.output.splitlines()[0]


def test_demo_accounts_log_in_with_the_printed_password(app, login):
    from core.demo import ACCOUNTS, DEMO_DOMAIN, DEMO_PASSWORD

    app.test_cli_runner().invoke(args=["demo"])
    for role, local_part, _name in ACCOUNTS:
        client = app.test_client()

        class Account:
            email = f"{local_part}@{DEMO_DOMAIN}"

        response = login(client, Account, password=DEMO_PASSWORD)
        expected = "/portal/" if role.value == "tenant" else "/backoffice/"
        assert response.location == expected
        assert client.get(expected).status_code == 200

