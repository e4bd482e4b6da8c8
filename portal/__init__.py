"""Navexa Portal: a confidential OAuth client (backend for frontend) for Navexa."""
