# ns-3 models, standalone against an installed ns-3: filled in by the ns-3 adapter change.
