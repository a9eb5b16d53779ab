"""Config as code: ``sluice plan`` / ``sluice apply -f sluice.yaml``.

The file declares objects by name; :func:`sluice.config.plan.make_plan` compares them with the store and
lists changes; applying runs those changes through the same services as the API, so a second apply
changes nothing. Secrets come only from ``${ENV_VAR}`` references. Each kind of object is one
section module (``sluice.config.sections``); later features add theirs.
"""
