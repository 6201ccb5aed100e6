"""APM models, one module per part; import them here so Django finds them."""
