"""The connection methods: one spec per method (core/methods/<method>.py), listed by the registry.

Everything about a method lives in its spec: label, summary and prerequisites; its form's fields and
which are secret; how its check gets a token and which steps it has; its KMS field names and what to
redact. The rest of kms-connect asks `method.spec` and names no method.
"""

from kms_connect.core.methods.registry import SPECS, Method, field_of
from kms_connect.core.methods.spec import FieldCheck, InputField, MethodSpec, TokenRequest

__all__ = ["SPECS", "FieldCheck", "InputField", "Method", "MethodSpec", "TokenRequest", "field_of"]
