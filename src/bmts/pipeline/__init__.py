"""Use cases that combine ingest, storage and analytics."""
