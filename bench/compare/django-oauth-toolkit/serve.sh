#!/usr/bin/env bash
# One gunicorn worker on 127.0.0.1:${PORT:-3002} (sync worker, like a default deployment).
set -euo pipefail
cd "$(dirname "$0")"
exec .venv-dot/bin/gunicorn -w 1 -b "127.0.0.1:${PORT:-3002}" --log-level warning dotsite.wsgi
