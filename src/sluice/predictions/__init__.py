"""AI predictions: churn, LTV and product recommendations trained on the customer's own data.

- :mod:`.spec` what a predictor is configured with, resolved against a source's models;
- :mod:`.features` point-in-time features and labels, computed in the warehouse through Ibis;
- :mod:`.training` LightGBM churn/LTV models with a time-based holdout; :mod:`.metrics` their scores;
- :mod:`.recommendations` item-item co-occurrence recommendations and their evaluation;
- :mod:`.storage` scores written to the bookkeeping schema (or a local DuckDB file);
- :mod:`.fields` prediction fields on the users model (usable in segments and field mappings);
- :mod:`.service` / :mod:`.runs` predictors, versions and their runs.

Nothing is downloaded: every model is trained here, on the workspace's data.
"""
