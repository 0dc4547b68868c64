"""kms-connect: Azure DevOps App Connections for Hanzo KMS, from the terminal."""

import logging as _logging

__version__ = "0.1.0"
APP_NAME = "kms-connect"

# Library-style: nothing reaches the terminal unless --debug adds a (redacted) file handler.
_logging.getLogger("kms_connect").addHandler(_logging.NullHandler())
