# ns-3 models inside an ns-3 source tree (build_lib): filled in by the ns-3 adapter change.
