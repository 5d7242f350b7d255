"""Documentation of the warehouse; `python -m dwh.docs` regenerates the catalogs from the code."""
