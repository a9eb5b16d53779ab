"""Meta Conversions API: send model rows as server events (conversions) to a Meta pixel / dataset."""
