"""Flask-free stages: script -> images -> narration -> compile."""
