"""django-oauth-toolkit set up with Homeroom's flows, for `homeroom loadtest` comparisons.

Code + PKCE (required), OIDC with RS256 ID tokens (DOT signs OIDC with an RSA key only),
rotating refresh tokens with reuse protection, client credentials (a second application:
DOT gives each application one grant type), users' passwords hashed with argon2id at
Homeroom's parameters. SQLite, one gunicorn worker (see serve.sh).
"""

import os
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DOT_SECRET_KEY", "compare-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "dotsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE / "dotsite" / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.csrf"]},
    }
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE / "var" / "dot.sqlite3"}
}
PASSWORD_HASHERS = ["dotsite.hashers.HomeroomArgon2"]
USE_TZ = True
LOGIN_URL = "/accounts/login/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (BASE / "var" / "oidc.key").read_text()
    if (BASE / "var" / "oidc.key").exists()
    else "",
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 300,
    "SCOPES": {"openid": "OpenID Connect", "profile": "Profile", "offline_access": "Offline"},
}
