"""The creator workflow: scripts as versioned resources, rendered by ordinary jobs."""
