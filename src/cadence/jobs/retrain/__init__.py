"""The retrain job: one series (``job``: lock, reconcile, backtest, decide, refit,
register, serve; the promotion rule in ``decide``, the registry aliases in ``aliases``),
and many series at once (``many``: fits in worker batches, ``batch``; each series
registered on change and served in its own transaction, ``serve``)."""
