"""The web layer: the Flask app factory, the CDS Hooks endpoints, `/api/assessment`, the meta
routes and the HTTP plumbing they share. The top of the layers (docs/architecture.md): it may
import everything below it — hooks, cards, the assessment — and nothing below imports it."""
