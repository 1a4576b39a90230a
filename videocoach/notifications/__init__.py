"""In-app notifications and their emails (immediately, or as a daily digest)."""
