// Package emailkey is the one rule for when two emails are the same
// address: the key both fold to. It is computed here, in Go, and stored
// (users.email_key, under a unique index), so the answer does not depend
// on the database's locale: a server in the C locale folds ASCII only,
// which would make ÉVA@x.test and éva@x.test two users.
package emailkey

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Of is the key an email is looked up and kept unique by: Unicode NFC,
// then full Unicode case folding (cases.Fold, the Unicode CaseFolding
// table: É and é, ß and ss, Σ, ς and σ fold alike), then NFC again, since
// folding may leave a sequence NFC composes. Text that is not an email
// gets a key too; validating addresses is the caller's business.
func Of(email string) string {
	// A Caser keeps state, so each call takes its own.
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(email)))
}
