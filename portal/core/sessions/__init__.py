"""Sessions and their tokens: the session record's fields, token records and their refresh, pending logins,
the index of who holds which sessions (and ending them), and how a browser is described."""
