"""Many series at once: their stored rows read once (``data``), panels built in one pass
(``panels``), backtests in batches of whole series (``backtest``), summaries over the
series (``summary``) and bounded MLflow runs, one per model per family (``tracking``)."""
