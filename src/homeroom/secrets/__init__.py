"""Secrets Homeroom itself needs (session keys, the client-secret HMAC key...).

``SecretSource`` is the interface the rest of the code uses; it is resolved by name, so no
value ever appears in settings or logs.
"""

from homeroom.secrets.source import DataDirSecrets, SecretSource

__all__ = ["DataDirSecrets", "SecretSource"]
