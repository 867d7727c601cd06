"""The SMART on FHIR app: the full salvage plan behind the patient-view card's `smart` link.

`bp` (url prefix ``/smart``) is registered by the app factory. The flow is in `launch`, the
server-side token store in `session_store`, FHIR reads in `data`, the page's view model in `plan`
and the inline SVG charts in `svg`. See docs/smart-app.md.
"""

from __future__ import annotations

from cds_service.smart.launch import bp

__all__ = ["bp"]
