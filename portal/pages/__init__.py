"""The portfolio pages: their views and fetch (Flask), and the Flask-free shaping, charts and formatting."""
