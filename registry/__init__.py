"""The exclusion registry: exclusions, the append-only log, the pipeline API.

The registry imports neither ``optout`` nor ``governance``; an exclusion keeps an opaque
``cause`` string naming what caused it (for example ``optout.request:42``).
"""
