"""The HTTP front door (`ragwright serve`): a thin FastAPI layer over :class:`ragwright.app.Ragwright`."""
