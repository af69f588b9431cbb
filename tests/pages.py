"""Going through the pages as a browser would, for tests: logging in.

The `log_in` fixture (tests/conftest.py) logs in on the test's `client`;
`log_in_with` takes the `form_post` of another client (a second browser).
"""

from tests import factories


def log_in_with(form_post, user, *, password: str = factories.PASSWORD):
    """Log `user` in through the login pages of `form_post`'s client (with a
    TOTP code for the roles that need one); returns the last answer."""
    response = form_post("/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if user.role.requires_totp:
        response = form_post("/login/code", {"code": factories.totp_now(user)})
        assert response.status_code == 302, response.get_data(as_text=True)
    return response
