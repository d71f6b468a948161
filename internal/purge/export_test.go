package purge

// Statement is a target's batch statement, for tests that EXPLAIN it.
func Statement(t Target) string { return t.statement() }
