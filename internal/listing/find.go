package listing

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Order is how a list is ordered: by the requested sort fields (Sorts) or
// Default, then by Tiebreak, a unique column that runs the way the last key
// does, so that one index on (tenant, key, id) scanned either way yields
// the page with no sort step, and every item has one place in the order.
type Order struct {
	Sorts    Sorts
	Default  string // "created_at" or "created_at DESC"
	Tiebreak string // "id"
}

// key is one ORDER BY expression and its direction.
type key struct {
	expr string
	desc bool
}

// keys are the ORDER BY expressions of p, tiebreaker last.
func (o Order) keys(p Params) ([]key, error) {
	var ks []key
	for _, s := range p.Sort {
		expr, ok := o.Sorts[s.Field]
		if !ok {
			return nil, fmt.Errorf("listing: unsortable field %q", s.Field)
		}
		ks = append(ks, key{expr, s.Desc})
	}
	if len(ks) == 0 {
		expr, desc := strings.CutSuffix(o.Default, " DESC")
		ks = append(ks, key{expr, desc})
	}
	tiebreak, _ := strings.CutSuffix(o.Tiebreak, " DESC")
	return append(ks, key{tiebreak, ks[len(ks)-1].desc}), nil
}

// CursorError is a cursor the database could not compare with the list's
// keys (one made up, or from another list): the request's fault.
type CursorError struct{ Before bool }

func (e *CursorError) Error() string {
	return "the cursor does not fit this list"
}

// Find reads the page p asks for from q (the store's query: its table,
// joins, filters and columns) into out's Items and Window (not Total, which
// the store counts its own way). One extra row tells whether more lie
// beyond; the page's first and last items come back with their cursors,
// computed by the database from the very expressions it orders by.
func Find[T any](q *gorm.DB, p Params, o Order, out *Page[T]) error {
	ks, err := o.keys(p)
	if err != nil {
		return err
	}
	var cursor *Cursor
	backwards := p.Before != nil
	switch {
	case p.After != nil:
		cursor = p.After
	case backwards:
		cursor = p.Before
	}
	if cursor != nil && !cursor.End && len(cursor.Keys) != len(ks) {
		return &CursorError{Before: backwards}
	}
	if p.After != nil && p.After.End {
		out.Items, out.More, out.First, out.Last = []T{}, false, nil, nil
		return nil // nothing lies after the end
	}
	order := make([]string, len(ks))
	for i, k := range ks {
		desc := k.desc != backwards
		order[i] = k.expr
		if desc {
			order[i] += " DESC"
		}
	}
	q = q.Order(strings.Join(order, ", ")).Offset(p.Offset()).Limit(p.Size + 1)
	if cursor != nil && !cursor.End {
		where, args := beyond(ks, cursor.Keys, backwards)
		q = q.Where(where, args...)
	}
	exprs := make([]string, len(ks))
	for i, k := range ks {
		exprs[i] = k.expr
	}
	var rows []keyed[T]
	if err := withPageKey(q, "json_build_array("+strings.Join(exprs, ", ")+")").Find(&rows).Error; err != nil {
		var pgErr *pgconn.PgError
		if cursor != nil && errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
			return &CursorError{Before: backwards} // a key the column's type cannot read
		}
		return err
	}
	out.More = len(rows) > p.Size
	rows = rows[:min(len(rows), p.Size)]
	if backwards {
		slices.Reverse(rows)
	}
	out.Items = make([]T, len(rows))
	for i := range rows {
		out.Items[i] = rows[i].Row
	}
	out.First, out.Last = nil, nil
	if len(rows) > 0 {
		if out.First, err = rows[0].cursor(); err == nil {
			out.Last, err = rows[len(rows)-1].cursor()
		}
	}
	return err
}

// keyed is one row of the page with its sort keys.
type keyed[T any] struct {
	Row     T      `gorm:"embedded"`
	PageKey string `gorm:"column:page_key"`
}

func (k keyed[T]) cursor() (*Cursor, error) {
	var values []any
	d := json.NewDecoder(strings.NewReader(k.PageKey))
	d.UseNumber()
	if err := d.Decode(&values); err != nil {
		return nil, fmt.Errorf("listing: page key %q: %w", k.PageKey, err)
	}
	c := &Cursor{Keys: make([]string, len(values))}
	for i, v := range values {
		switch v := v.(type) {
		case string:
			c.Keys[i] = v
		case json.Number:
			c.Keys[i] = v.String()
		case bool:
			c.Keys[i] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("listing: sort key %d of %q is not a scalar (a sort expression must not be NULL)", i, k.PageKey)
		}
	}
	return c, nil
}

// beyond is the condition for rows after the cursor's keys in the order of
// ks (before them, backwards). When every key runs one way it is one row
// comparison, which an index on the keys answers as a range; otherwise the
// first key bounds the range and the rest decide within it.
func beyond(ks []key, values []string, backwards bool) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	op := func(k key) string {
		if k.desc != backwards {
			return "<"
		}
		return ">"
	}
	same := true
	for _, k := range ks[1:] {
		same = same && k.desc == ks[0].desc
	}
	exprs := make([]string, len(ks))
	marks := make([]string, len(ks))
	for i, k := range ks {
		exprs[i], marks[i] = k.expr, "?"
	}
	if same {
		return fmt.Sprintf("(%s) %s (%s)", strings.Join(exprs, ", "), op(ks[0]), strings.Join(marks, ", ")), args
	}
	// k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND k2 < v2) OR ...)
	var ors []string
	var orArgs []any
	for i, k := range ks {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, ks[j].expr+" = ?")
			orArgs = append(orArgs, values[j])
		}
		ands = append(ands, k.expr+" "+op(k)+" ?")
		orArgs = append(orArgs, values[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	where := ks[0].expr + " " + op(ks[0]) + "= ? AND (" + strings.Join(ors, " OR ") + ")"
	return where, append([]any{values[0]}, orArgs...)
}

// withPageKey adds the sort keys, as page_key, to whatever columns q
// selects: a plain column list, an expression with arguments, or (when the
// store chose none) every column of its table.
func withPageKey(q *gorm.DB, keys string) *gorm.DB {
	q = q.Session(&gorm.Session{}) // a statement of its own, not the store's
	q = q.Where("TRUE")            // (cloned on this first chained call)
	column := keys + " AS page_key"
	stmt := q.Statement
	if c, ok := stmt.Clauses["SELECT"]; ok {
		if expr, ok := c.Expression.(clause.Expr); ok {
			c.Expression = clause.Expr{SQL: expr.SQL + ", " + column, Vars: expr.Vars, WithoutParentheses: expr.WithoutParentheses}
			stmt.Clauses["SELECT"] = c
			return q
		}
	}
	if len(stmt.Selects) > 0 {
		stmt.Selects = append(slices.Clone(stmt.Selects), column)
		return q
	}
	table := stmt.Table
	if table == "" && stmt.Model != nil {
		if err := stmt.Parse(stmt.Model); err != nil {
			_ = q.AddError(err)
			return q
		}
		table = stmt.Table
	}
	stmt.Selects = []string{stmt.Quote(table) + ".*", column}
	return q
}
