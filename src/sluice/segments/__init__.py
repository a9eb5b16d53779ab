"""The segment engine: condition trees compiled to Ibis expressions, preview, breakdowns, overlap.

Everything here depends on the :class:`~sluice.models.catalog.ModelCatalog` protocol only, never on
the store; the API and CLI load segments from the store and hand them to the engine.
"""
