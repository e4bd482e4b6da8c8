"""The Flask-free core, by concern: oauth/, navexa/, sessions/, storage/, observability/ (and values.py, shared
checks of stored numbers). No Flask, no werkzeug, no settings: everything it needs is handed in."""
