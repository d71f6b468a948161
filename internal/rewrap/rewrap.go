// Package rewrap re-seals stored secrets under the current master key, so
// that a previous key (OAUTHD_PREVIOUS_MASTER_KEYS) can be retired. The
// domains declare where they keep sealed values (Targets); Run walks each
// table by primary key in batches, each batch its own short transaction,
// and replaces a row's ciphertexts only if the row still holds what was
// read (compare and set), so a secret changed meanwhile by a serving
// instance is kept as that instance wrote it. An interrupted run loses
// nothing: what is done is done, and the next run takes what is left.
package rewrap

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/keyring"
)

// Target is one table that holds sealed values.
type Target struct {
	// Name names the target in the report.
	Name string
	// Table holds the rows; Key lists its primary key's columns.
	Table string
	Key   []string
	// Fields are the columns the associated data is made of.
	Fields []string
	// Groups are the sealed columns, by the column naming their key.
	Groups []Group
}

// Group is ciphertext columns sealed under the key one column names.
type Group struct {
	KeyID   string
	Columns []string // NULL values are skipped
	// AAD is the associated data column was sealed with, for a row whose
	// Fields hold fields (their text).
	AAD func(fields map[string]string, column string) []byte
}

// Options tune a run; zero values take the defaults.
type Options struct {
	BatchSize int // rows a transaction re-seals (default 200)
	// Progress, when set, hears after each batch how many rows of the
	// target have been re-sealed so far.
	Progress func(target string, done int)
}

// Result is what a run did to one target.
type Result struct {
	Target string
	// Resealed counts the rows now sealed under the current key; Changed
	// those a serving instance rewrote meanwhile (they are sealed under
	// the current key already); Unopenable those sealed with a key the
	// keyring lacks (they stay as they are).
	Resealed, Changed, Unopenable int
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Run re-seals, under kr's current key, every value of targets sealed with
// another key, and reports per target. It stops at ctx's end (the work
// done stays done).
func Run(ctx context.Context, db *database.DB, kr *keyring.Keyring, o Options, targets ...Target) ([]Result, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	var out []Result
	for _, t := range targets {
		if err := t.check(); err != nil {
			return out, err
		}
		r := Result{Target: t.Name}
		for _, g := range t.Groups {
			if err := t.runGroup(ctx, db, kr, o, g, &r); err != nil {
				return append(out, r), fmt.Errorf("rewrap %s: %w", t.Name, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (t Target) check() error {
	names := append(append([]string{t.Table}, t.Key...), t.Fields...)
	for _, g := range t.Groups {
		names = append(append(names, g.KeyID), g.Columns...)
	}
	for _, n := range names {
		if !identifier.MatchString(n) {
			return fmt.Errorf("rewrap %s: %q is not an identifier", t.Name, n)
		}
	}
	for _, k := range t.Key {
		if !strings.Contains(","+strings.Join(t.Fields, ",")+",", ","+k+",") {
			return fmt.Errorf("rewrap %s: key column %s must be among the fields", t.Name, k)
		}
	}
	return nil
}

// sealedRow is one row read for re-sealing.
type sealedRow struct {
	fields map[string]string
	keyID  string
	values [][]byte // by column; nil for NULL
}

// runGroup walks the table by primary key from the start, one batch after
// another, taking the rows whose group is sealed with another key.
func (t Target) runGroup(ctx context.Context, db *database.DB, kr *keyring.Keyring, o Options, g Group, r *Result) error {
	current := kr.CurrentKeyID()
	var after []string // the key of the last row read
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := t.readBatch(ctx, db, g, current, after, o.BatchSize)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		err = db.InTx(ctx, func(ctx context.Context) error {
			for _, row := range rows {
				outcome, err := t.reseal(ctx, db, kr, g, row)
				if err != nil {
					return err
				}
				switch outcome {
				case resealed:
					r.Resealed++
				case changed:
					r.Changed++
				case unopenable:
					r.Unopenable++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(t.Name, r.Resealed)
		}
		last := rows[len(rows)-1]
		after = make([]string, len(t.Key))
		for i, k := range t.Key {
			after[i] = last.fields[k]
		}
	}
}

func (t Target) readBatch(ctx context.Context, db *database.DB, g Group, current string, after []string, n int) ([]sealedRow, error) {
	cols := make([]string, 0, len(t.Fields)+1+len(g.Columns))
	for _, f := range t.Fields {
		cols = append(cols, f+"::text")
	}
	cols = append(append(cols, g.KeyID), g.Columns...)
	where := []string{g.KeyID + " IS NOT NULL", g.KeyID + " <> ?"}
	args := []any{current}
	// The key's columns qualified: the text of a field shares its name.
	qualified := make([]string, len(t.Key))
	for i, k := range t.Key {
		qualified[i] = t.Table + "." + k
	}
	key := "(" + strings.Join(qualified, ", ") + ")"
	if after != nil {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(after)), ", ")
		where = append(where, key+" > ("+marks+")")
		for _, a := range after {
			args = append(args, a)
		}
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT %d",
		strings.Join(cols, ", "), t.Table, strings.Join(where, " AND "), strings.Join(qualified, ", "), n)
	rows, err := db.Conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []sealedRow
	for rows.Next() {
		texts := make([]sql.NullString, len(t.Fields))
		values := make([][]byte, len(g.Columns))
		dest := make([]any, 0, len(cols))
		for i := range texts {
			dest = append(dest, &texts[i])
		}
		var keyID string
		dest = append(dest, &keyID)
		for i := range values {
			dest = append(dest, &values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := sealedRow{fields: map[string]string{}, keyID: keyID, values: values}
		for i, f := range t.Fields {
			row.fields[f] = texts[i].String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

type outcome int

const (
	resealed outcome = iota
	changed
	unopenable
)

// reseal opens a row's values and writes them sealed under the current
// key, if the row still holds what was read.
func (t Target) reseal(ctx context.Context, db *database.DB, kr *keyring.Keyring, g Group, row sealedRow) (outcome, error) {
	sets := []string{g.KeyID + " = ?"}
	var setArgs []any
	var newKeyID string
	conds := []string{g.KeyID + " = ?"}
	condArgs := []any{row.keyID}
	for i, col := range g.Columns {
		old := row.values[i]
		if old == nil {
			conds = append(conds, col+" IS NULL")
			continue
		}
		plain, err := kr.Open(old, row.keyID, g.AAD(row.fields, col))
		if errors.Is(err, keyring.ErrUnknownKey) {
			return unopenable, nil
		}
		if err != nil {
			return 0, fmt.Errorf("open %s of %v: %w", col, row.keyFields(t.Key), err)
		}
		sealed, id := kr.Seal(plain, g.AAD(row.fields, col))
		clear(plain)
		newKeyID = id
		sets = append(sets, col+" = ?")
		setArgs = append(setArgs, sealed)
		conds = append(conds, col+" = ?")
		condArgs = append(condArgs, bytes.Clone(old))
	}
	if newKeyID == "" {
		newKeyID = kr.CurrentKeyID() // nothing sealed in the group: only the id moves
	}
	for _, k := range t.Key {
		conds = append(conds, k+" = ?")
		condArgs = append(condArgs, row.fields[k])
	}
	args := append(append([]any{newKeyID}, setArgs...), condArgs...)
	res := db.Conn(ctx).Exec(fmt.Sprintf("UPDATE %s SET %s WHERE %s", t.Table, strings.Join(sets, ", "), strings.Join(conds, " AND ")), args...)
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected == 0 {
		return changed, nil
	}
	return resealed, nil
}

func (r sealedRow) keyFields(key []string) []string {
	out := make([]string, len(key))
	for i, k := range key {
		out[i] = r.fields[k]
	}
	return out
}
