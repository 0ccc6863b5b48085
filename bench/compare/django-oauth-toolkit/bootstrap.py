"""Create the users and the two applications, and write seed.json for `homeroom loadtest`."""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotsite.settings")
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
PASSWORD = "lt-password-123"  # loopback comparison only
REDIRECT = "http://127.0.0.1:9/loadtest/callback"
# DOT hashes client secrets with the *password* hasher by default, so every token request
# pays an argon2id (here) or PBKDF2 verification. Homeroom checks a keyed HMAC in
# microseconds; DOT has no keyed-hash option, so by default we store the comparison's secrets
# unhashed (hash_client_secret=False). DOT_HASH_CLIENT_SECRET=1 measures DOT's default.
HASH_SECRETS = os.environ.get("DOT_HASH_CLIENT_SECRET", "0") == "1"

hashed = make_password(PASSWORD)
existing = set(User.objects.values_list("username", flat=True))
User.objects.bulk_create(
    User(username=f"lt-user-{n:05d}", password=hashed)
    for n in range(1, USERS + 1)
    if f"lt-user-{n:05d}" not in existing
)
Application.objects.filter(name__startswith="loadtest").delete()
code_secret, cc_secret = "code-secret-compare-0123456789", "cc-secret-compare-0123456789"
Application.objects.create(
    name="loadtest-code",
    client_id="loadtest-code",
    client_secret=code_secret,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=REDIRECT,
    skip_authorization=True,
    algorithm=Application.RS256_ALGORITHM,
    hash_client_secret=HASH_SECRETS,
)
Application.objects.create(
    name="loadtest-cc",
    client_id="loadtest-cc",
    client_secret=cc_secret,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    hash_client_secret=HASH_SECRETS,
)
with open("seed.json", "w") as fh:
    json.dump(
        {
            "server": "django-oauth-toolkit",
            "client_id": "loadtest-code",
            "client_secret": code_secret,
            "cc_client_id": "loadtest-cc",
            "cc_client_secret": cc_secret,
            "redirect_uri": REDIRECT,
            "username_prefix": "lt-user-",
            "users": USERS,
            "password": PASSWORD,
            "login_start": "authorize",
            "district_param": False,
        },
        fh,
        indent=2,
    )
print(f"{USERS} users, applications loadtest-code and loadtest-cc; seed.json written")
