from django.contrib.auth.hashers import Argon2PasswordHasher


class HomeroomArgon2(Argon2PasswordHasher):
    """argon2id at Homeroom's (OWASP minimum) parameters: m=19 MiB, t=2, p=1."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
