"""The HTTP client settings the ``http`` processor, the ``http_client`` input and the
``http_client`` output share (Bento's ``internal/httpclient`` fields): authentication
(``basic_auth``, ``oauth``, ``oauth2``, ``jwt``, ``digest_auth``), ``tls``, ``proxy_url`` and
``rate_limit``. ``config`` declares and checks the fields once and builds a ``requests.Session``
from them; each authentication kind lives in a module of its own.
"""
