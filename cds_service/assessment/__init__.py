"""The one path from FHIR resources to the assessment (and the order findings), shared by the
hooks, `/api/assessment` and the SMART app; and the FHIR queries it reads (`queries`)."""
