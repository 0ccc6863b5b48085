"""The OpenID Provider: OAuth 2.0 (RFC 6749) and OpenID Connect Core 1.0, one module per spec.

============================  ============================================================
module                      specification
============================  ============================================================
``errors``                  RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6
``discovery``               OpenID Connect Discovery 1.0 §3; RFC 8414 §2
``keys``                    RFC 7517 (JWK Set); OIDC Core §10.1.1 (rotation)
``clients``                 the registered clients and district connections (cached)
``client_auth``             RFC 6749 §2.3.1; OIDC Core §9; RFC 7523 §2.2 (private_key_jwt)
``pkce``                    RFC 7636
``authorize``               RFC 6749 §4.1.1-4.1.2; OIDC Core §3.1.2; RFC 9207
``codes``                   RFC 6749 §4.1.2, §10.5 (single use, short-lived, bound)
``tokens``                  OIDC Core §2 (ID token); RFC 9068 (JWT access tokens)
``token_endpoint``          RFC 6749 §3.2, §5 (client authentication, grant dispatch)
``grant_authorization_code``  RFC 6749 §4.1.3; RFC 7636 §4.6; OIDC Core §3.1.3
``grant_refresh_token``     RFC 6749 §6 (rotation on every use)
``grant_client_credentials``  RFC 6749 §4.4
``responses``               RFC 6749 §5.1 (the successful token response)
``refresh``                 Security BCP §4.14.2 (refresh token storage, reuse detection)
``claims``                  OIDC Core §5.1, §5.4 (scopes → claims, filtered by sharing)
``userinfo``                OIDC Core §5.3; RFC 6750 §2
``bearer``                  RFC 9068 §4 and RFC 6750: access token → ``Principal``
``introspection``           RFC 7662
``revocation``              RFC 7009
``logout``                  OpenID Connect RP-Initiated Logout 1.0; Back-Channel Logout 1.0
============================  ============================================================
"""
