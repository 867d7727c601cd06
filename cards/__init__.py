"""Card and suggestion builders (CDS Hooks 2.0 response objects) and their markdown templates."""
