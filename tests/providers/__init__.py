"""Tests for the upstream HTTP client and the fake upstream servers."""
