"""`python -m sora_app.client`: the command-line client of any sora_app server.

It speaks only HTTP (requests) to the documented API, never imports the server's app or
database, so it works the same against a laptop and a remote deployment.
"""
