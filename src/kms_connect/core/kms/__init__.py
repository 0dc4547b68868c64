"""Talking to a Hanzo KMS instance's REST API (Infisical-compatible, /api/v1). No Textual here."""
