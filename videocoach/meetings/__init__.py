"""Meetings: coach and teacher review a clip together, in sync."""
