// Package migrations holds the versioned SQL schema, embedded in the binary
// and applied by goose at start under a Postgres advisory lock.
package migrations

import "embed"

// FS is the set of goose SQL migrations, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
