"""The asynchronous warden client (placeholder)."""
