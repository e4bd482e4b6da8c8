"""The Flask-free core: the protocols (OAuth, Navexa), storage in Redis, sealing, errors, metrics and log format."""
