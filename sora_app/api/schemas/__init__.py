"""Response (and documented query) models: what each surface answers, for api/openapi.py.

Views build their answers as dicts (services shape them); these models state those shapes
for the OpenAPI document, and tests/api/test_openapi_answers.py checks real answers against
them, so a drifting answer fails a test instead of silently contradicting the docs.
"""
