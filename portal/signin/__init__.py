"""Signing in with Navexa and signing out: /login, /callback, /logout."""
