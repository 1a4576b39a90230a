"""Media pipeline building blocks: probe, ffmpeg commands, frames. Pure functions, no Flask."""
