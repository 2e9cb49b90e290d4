"""Socket.IO for Python with first-class framework plugins."""
