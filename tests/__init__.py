"""The test suite (a package, so that `tests.paths` is ours and not site-packages' `tests` of smdebug_rulesconfig)."""
