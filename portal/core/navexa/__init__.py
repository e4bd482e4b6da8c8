"""The Navexa API: its client, and the session's cache of its answers."""
