"""Admin URLs as the admin itself writes them.

The admin escapes primary keys in its URLs (``_`` becomes ``_5F``) and unescapes what
it receives, so a raw ``deb_24q…`` in a URL reads as ``deb$q…``: a test that pastes a
prefixed id into an admin URL fails, or passes for the wrong reason, depending on the
random id.
"""

from django.contrib.admin.utils import quote
from django.urls import reverse


def admin_change_path(model: str, pk: str) -> str:
    """``model`` as ``"app_label.model_name"``."""
    app_label, model_name = model.lower().split(".")
    return reverse(f"admin:{app_label}_{model_name}_change", args=[quote(pk)])
