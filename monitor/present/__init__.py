"""Presenting results: the digest, its email, charts shared with the dashboard, and exports."""
