"""The admin HTTP API (FastAPI): ``manna api``; see ``api.app.create_app``."""
