"""Shared state in Redis: how to reach it and every key's name, sealing, a leased lock, rates and pauses."""
