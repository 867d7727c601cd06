"""Storage: the database engine (SQLite or PostgreSQL), the feedback store and its batch writer.
Serves the web layer; imports nothing of the hooks, cards or assessment."""
