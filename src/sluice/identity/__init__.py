"""Identity resolution: records of several models merged into golden profiles inside the warehouse.

An :class:`~sluice.identity.spec.IdentitySpec` names the input models, which of their fields carry
identifiers (email, phone, external and anonymous ids) and attributes, the ordered match rules,
the limits that stop over-merging and the survivorship rule of each golden field. A run
(:func:`sluice.identity.engine.resolve`) computes everything with SQL in the source's bookkeeping
schema: normalised identifiers, rule-by-rule connected components by label propagation, stable
profile ids and golden records. Nothing but counts comes back to Sluice.
"""
