"""The security base every page stands on: headers, CSRF, sessions, roles, sizes."""
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.http import parse_date

from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token


@pytest.mark.parametrize("url", ["/login", "/nowhere", "/health", "/theme/css/palier.css"])
def test_every_response_carries_the_security_headers(client, url):
    with client.get(url) as response:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user("agent")
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert client.get("/backoffice/").status_code == 302  # still logged out


def test_logout_ends_the_session_even_for_a_replayed_cookie(app, make_user, login):
    user = make_user("agent")
    client = app.test_client()
    login(client, user, remember=True)
    stolen = {c.key: c.value for c in client._cookies.values()}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/backoffice/")})
    replay = app.test_client()
    for name, value in stolen.items():
        replay.set_cookie(name, value)
    assert replay.get("/backoffice/").status_code == 302  # back to the login page


def test_session_cookies_are_http_only_and_same_site(client, make_user):
    user = make_user("agent")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": user.email,
                                           "password": DEFAULT_PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    expires = parse_date(remember.split("Expires=")[1].split(";")[0])
    assert expires - datetime.now(timezone.utc) <= timedelta(days=30)  # 30 days at most


def test_secure_cookies_behind_https(make_app, make_user):
    app = make_app(PUBLIC_URL="https://palier.example")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_login_never_redirects_to_another_site(client, make_user):
    user = make_user("agent")
    for target in ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]:
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"csrf_token": token, "email": user.email,
                                               "password": DEFAULT_PASSWORD, "next": target})
        assert response.location == "/backoffice/"
        client.post("/logout", data={"csrf_token": csrf_token(client, "/backoffice/")})


def test_each_role_reaches_only_its_area(app, make_user, make_tenant, login):
    tenant, agent = app.test_client(), app.test_client()
    login(tenant, make_tenant())
    login(agent, make_user("agent"))
    assert tenant.get("/backoffice/").status_code == 403
    assert agent.get("/portal/").status_code == 403
    assert agent.get("/backoffice/admin/plugins").status_code == 403


def test_disabled_account_is_logged_out_at_its_next_request(app, make_user, login):
    from core.accounts import User
    from core.extensions import db

    user = make_user("agent")
    client = app.test_client()
    login(client, user)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get("/backoffice/").status_code == 302


def test_oversized_requests_are_refused(make_app):
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    response = client.post("/login", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)


def test_login_attempts_are_rate_limited_per_address(make_app, make_user):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    user = make_user("agent")
    token = csrf_token(client, "/login")
    codes = [client.post("/login", data={"csrf_token": token, "email": user.email,
                                         "password": "wrong"}).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert "Trop de tentatives" in client.post("/login", data={}).get_data(as_text=True)


def test_logging_out_is_never_throttled(make_app, make_user, login):
    # Four logins and four logouts from one address: only the logins count against the 5.
    app = make_app(LOGIN_RATE_LIMIT="5 per minute")
    for n in range(4):
        client = app.test_client()
        login(client, make_user("agent"))
        response = client.post("/logout", data={"csrf_token": csrf_token(client, "/backoffice/")})
        assert response.status_code == 302, n
        assert client.get("/backoffice/").status_code == 302  # the session ended


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(make_app, make_user):
    app = make_app(PROXY_COUNT=1, LOGIN_RATE_LIMIT="2 per minute")
    user = make_user("agent")

    def attempt(address):
        client = app.test_client()
        token = csrf_token(client, "/login")
        return client.post("/login", headers={"X-Forwarded-For": address}, data={
            "csrf_token": token, "email": user.email, "password": "wrong"}).status_code

    assert [attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.2") == 401  # another client behind the same proxy


def test_errors_keep_their_headers(client):
    response = client.get("/logout")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
