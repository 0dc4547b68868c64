"""An instance older than a feature, in words (issue 19, "Older instances").

An Infisical instance answers a route it does not have with its web framework's own 404,
`{"message": "Route GET:/api/v1/… not found", "error": "Not Found", "statusCode": 404}`, as a
September 2024 server does for the App Connections and the Secret Syncs. That answer is never shown
as it is: the caller turns it into the feature's error class below, one sentence naming what the
instance lacks and that upgrading it brings it. Other 404s ("Could not find App Connection …")
are answers about a thing, not a route, and stay as they are.
"""

from __future__ import annotations

from typing import TypeVar

from kms_connect.core.kms.client import KmsApiError

APP_CONNECTIONS = "/api/v1/app-connections"  # every route of the feature starts so (options included)
DEVOPS_CONNECTIONS = f"{APP_CONNECTIONS}/azure-devops"


class FeatureMissing(KmsApiError):
    """The instance has no routes for a feature: it is older than the feature."""


class AppConnectionsUnsupported(FeatureMissing):
    """The instance has no App Connections routes."""


Missing = TypeVar("Missing", bound=FeatureMissing)


def route_missing(exc: KmsApiError, prefix: str) -> bool:
    """`exc` is the instance saying it has no route under `prefix` (not that a thing is not found)."""
    return exc.status == 404 and exc.server_message.startswith("Route ") and prefix in exc.server_message


def missing(kind: type[Missing], instance: str, feature: str, route: str) -> Missing:
    """The one sentence for an instance without `feature`, as `kind`."""
    return kind(
        f"The instance {instance} has no {feature}: it answers {route} with 404, as instances older than "
        f"{feature} for Azure DevOps do. Upgrade the instance to use them.",
        status=404,
    )


def app_connections_missing(instance: str) -> AppConnectionsUnsupported:
    return missing(AppConnectionsUnsupported, instance, "App Connections", DEVOPS_CONNECTIONS)
