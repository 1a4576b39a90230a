"""Background jobs (the media pipeline); see the media-pipeline issue."""
