"""The Flask glue every blueprint shares: services, sessions, cookies, errors, security, rate limits, request log."""
