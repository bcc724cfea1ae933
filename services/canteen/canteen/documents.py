"""The canteen's justification files: the shared checks and private store (espace_common.documents)."""
from espace_common.documents import (  # noqa: F401 (this module's API, used by use_cases, service and tests)
    MAX_BYTES, MEDIA_TYPES, NOT_A_JUSTIFICATION, DocumentStore, Justification, carries_active_content, checked_pdf,
    inspect, read_recorded, reencoded_image,
)
