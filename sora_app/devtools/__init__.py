"""Developer tools that never run in production: fake upstream servers for tests and demos."""
