"""kms-connect: Azure DevOps App Connections for Hanzo KMS, from the terminal."""

__version__ = "0.1.0"
APP_NAME = "kms-connect"

import logging as _logging

# Library-style: nothing reaches the terminal unless --debug adds a (redacted) file handler.
_logging.getLogger("kms_connect").addHandler(_logging.NullHandler())
