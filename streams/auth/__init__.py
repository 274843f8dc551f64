"""Authentication of stream APIs as Tyk reads it from the definition (DESIGN §11).

* ``config``: ``x-tyk-api-gateway.server.authentication`` with the OAS ``components.securitySchemes``
  and ``security``, read and validated (no I/O);
* ``jwt_verify``: a JWT checked against keys (signature family, times, claims; no I/O);
* ``jwks``: JSON Web Key Sets fetched over HTTP, cached, refreshed no more often than a floor;
* ``sessions`` and ``key_table``: Tyk's key session object and the fold of the keys log (no I/O);
* ``keystore``: the keys log on the gateway's broker, shared by every worker and host;
* ``gate``: one API's decision on one request's credentials.
"""
