// Package migrations holds the versioned schema, embedded in the binary and
// applied by goose at start under a Postgres advisory lock: SQL files, and
// Go migrations (NNNNN_name.go) where a step needs Go's rules, such as
// 00090's email keys.
//
// A new migration takes the next number above the highest one here: goose
// refuses to start on a database that has a higher version than a pending
// migration ("missing (out-of-order) migration"), so a number slotted in
// below would stop every deployed instance.
package migrations

import (
	"embed"

	"github.com/pressly/goose/v3"
)

// FS is the set of migrations, applied in version order: the SQL files,
// and the Go migrations' source, which goose matches with Go below (and
// which makes a change to one a change to the set, as the test template's
// hash sees).
//
//go:embed *.sql 0*.go
var FS embed.FS

// Go returns the Go migrations, each named by a file in FS. They are made
// afresh on every call: goose's provider writes into the Migration values
// it is given, so two providers built at once (instances of one process
// starting together, or tests) must not share them.
func Go() []*goose.Migration {
	return []*goose.Migration{usersEmailKey()}
}
