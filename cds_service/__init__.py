"""salvage-cds: a CDS Hooks 2.0 service for progressive breast cancer brain metastases.

Layers that only point down (docs/architecture.md): `ops` → `web` and `smart` → the top-level
`hooks` → `cards` → `assessment` → `mapping` → `model`; `protocol`, `fhir`, `storage` and
`security` serve the web layer. tests/test_architecture.py keeps it so.
"""

__version__ = "0.1.0"
