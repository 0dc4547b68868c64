"""kms-connect: Azure DevOps App Connections for Hanzo KMS, from the terminal."""

__version__ = "0.1.0"
APP_NAME = "kms-connect"
