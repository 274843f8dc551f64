"""Cache resources (``cache_resources``): one module per cache type, listed in ``streams.catalog``."""
