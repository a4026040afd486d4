"""Real-time project events: published to one Redis Stream per project, served over SSE."""
