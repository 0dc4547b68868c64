"""The fields every connection form shares, and the Name rule with its Enter-applies-the-slug help."""

from __future__ import annotations

from kms_connect.core.methods import FieldCheck
from kms_connect.core.validation import check_slug_name, slugify
from kms_connect.ui.widgets.form_field import FieldSpec, FormField

NAME = FieldSpec("name", "Name", "lowercase letters, digits and hyphens")
DESCRIPTION = FieldSpec("description", "Description", optional=True)


def check_name(value: str, taken: set[str]) -> str | None:
    """The slug rule, saying that Enter applies the suggestion when there is one."""
    error = check_slug_name(value, taken)
    return error + " Enter uses it." if error and "e.g." in error else error


def use_name_suggestion(field: FormField, taken: set[str]) -> bool:
    """Enter on an invalid Name puts the slugified suggestion in; True when it did."""
    suggestion = slugify(field.value)
    if field.error and suggestion and check_slug_name(suggestion, taken) is None:
        field.value = suggestion
        return True
    return False


__all__ = ["DESCRIPTION", "NAME", "FieldCheck", "check_name", "use_name_suggestion"]  # FieldCheck: core/methods
