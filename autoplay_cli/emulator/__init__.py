"""A local emulator of the Autoplay connector: SSE stream, ``/products``, a fake Unkey.

Light on import: the Starlette/uvicorn server lives in :mod:`.server`, the
synthetic traffic in :mod:`.traffic`.
"""
