"""Identity: accounts, passwords, badges, upstream IdP federation, portal sessions."""
