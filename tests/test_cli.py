"""The `lotwise` command as a new user runs it: migrate, seed, serve, sign in and list lots over HTTP."""
import shutil
import subprocess
from datetime import timedelta

import pytest
import requests

from backend.domain.auth import issue_token
from backend.models import db
from tests.conftest import LOTWISE_BIN, free_port, lotwise, make_app, wait_until_up


def test_serve_demo_data_and_sign_in_as_the_demo_worker(env):
    """db upgrade + demo + serve: the demo worker signs in and lists lots, as the README shows with curl."""
    lotwise(env, "db", "upgrade")
    assert "worker / worker" in lotwise(env, "demo").stdout
    port = free_port()
    server = subprocess.Popen([LOTWISE_BIN, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        login = requests.post(url + "/api/auth/token",
                              json={"username": "worker", "password": "worker", "device": "curl"}, timeout=10)
        assert login.status_code == 200
        lots = requests.get(url + "/api/lots", headers={"Authorization": "Bearer " + login.json()["token"]},
                            timeout=10)
        assert lots.status_code == 200 and lots.json()["total"] >= 10
        assert requests.get(url + "/api/lots", timeout=10).json()["error"] == "unauthorized"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl makes the test's certificate; not installed")
def test_serve_over_https_with_cert_and_key(env, tmp_path):
    """`lotwise serve --cert --key` answers HTTPS (what phones need for the camera and the service worker):
    the app shell, its service worker and the API, verified against the certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    lotwise(env, "db", "upgrade")
    port = free_port()
    server = subprocess.Popen([LOTWISE_BIN, "serve", "--port", str(port), "--cert", str(cert), "--key", str(key)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"https://127.0.0.1:{port}"
    try:
        wait_until_up(url, server, verify=str(cert))
        shell = requests.get(url + "/", timeout=10, verify=str(cert))
        assert shell.status_code == 200 and 'rel="manifest"' in shell.text
        worker = requests.get(url + "/sw.js", timeout=10, verify=str(cert))
        assert worker.status_code == 200 and "javascript" in worker.headers["Content-Type"]
        assert requests.get(url + "/api/lots", timeout=10, verify=str(cert)).json()["error"] == "unauthorized"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # plain HTTP is not served on that port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_user_add_creates_a_user_who_can_sign_in(env):
    """`lotwise user add` asks for the password and stores the user with the role given."""
    lotwise(env, "db", "upgrade")
    result = lotwise(env, "user", "add", "maria", "--role", "supervisor", input="s3cret-pw\ns3cret-pw\n")
    assert "Added supervisor maria" in result.stdout
    app = make_app(env["DATABASE_URL"], env["LOTWISE_INSTANCE_PATH"])
    with app.app_context():
        _, token = issue_token(db.session, username="maria", password="s3cret-pw", device="t", ttl=timedelta(hours=1))
        assert token.user.role.value == "supervisor"
        db.engine.dispose()
