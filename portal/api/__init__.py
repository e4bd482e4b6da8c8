"""/api/: the hop's rules (hop), the Flask view over them (views), and the WSGI fast path (fast_path)."""
