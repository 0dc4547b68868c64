"""The core: models, config, store, secrets and (later) the Azure and KMS clients.

Nothing under this package imports Textual, so it can be tested and scripted on its own
(tests/test_layering.py enforces it).
"""
