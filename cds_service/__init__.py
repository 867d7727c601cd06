"""salvage-cds: a CDS Hooks 2.0 service for progressive breast cancer brain metastases."""

__version__ = "0.1.0"
