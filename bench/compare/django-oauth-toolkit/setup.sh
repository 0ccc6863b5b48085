#!/usr/bin/env bash
# Reproducible django-oauth-toolkit comparison server: own venv, SQLite, users and apps.
# Usage: bench/compare/django-oauth-toolkit/setup.sh [USERS]
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv-dot/bin/python ] || python3 -m venv .venv-dot
.venv-dot/bin/pip install -q --disable-pip-version-check \
  "django>=5.1,<6" "django-oauth-toolkit>=3,<4" "gunicorn>=23" "argon2-cffi>=23"
mkdir -p var
[ -f var/oidc.key ] || openssl genrsa -out var/oidc.key 2048 2>/dev/null
.venv-dot/bin/python manage.py migrate -v 0
.venv-dot/bin/python bootstrap.py "${1:-200}"
