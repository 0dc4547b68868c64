"""Talking to Microsoft Entra ID and Azure DevOps (no Textual here)."""
