"""Pure text intelligence for live-commerce rooms: intent, FAQ retrieval, host-speech claims.

Give it text and a catalog, get labels and findings. It never imports ``agent``.
"""
