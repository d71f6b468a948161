// Package listing carries a validated page-and-sort request from the API to
// the stores, and back a page of results with the total.
package listing

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// DefaultSize and MaxSize bound page[size].
const (
	DefaultSize = 20
	MaxSize     = 100
)

// Sort is one sort key.
type Sort struct {
	Field string
	Desc  bool
}

// Params is a page request, already validated by the API layer.
type Params struct {
	Number int // from 1
	Size   int
	Sort   []Sort
}

// Default is the first page with the default size and no explicit sort.
func Default() Params { return Params{Number: 1, Size: DefaultSize} }

// Offset is the number of rows before the page.
func (p Params) Offset() int { return (p.Number - 1) * p.Size }

// Page is one page of results and the total across all pages.
type Page[T any] struct {
	Items []T
	Total int64
}

// Sorts maps each field a list can be sorted by to the SQL it orders by.
// It is the one home of a list's sort fields: the store orders by it and
// the API derives the fields it accepts from it (Fields), so the two
// cannot disagree.
type Sorts map[string]string

// Fields are the sortable fields in alphabetical order.
func (s Sorts) Fields() []string { return slices.Sorted(maps.Keys(s)) }

// Apply orders and limits q. columns maps each sortable field to its
// column; fallback is the default order. A unique tiebreaker column keeps
// pages stable when sort keys repeat.
func Apply(q *gorm.DB, p Params, columns Sorts, fallback, tiebreak string) (*gorm.DB, error) {
	var order []string
	for _, s := range p.Sort {
		col, ok := columns[s.Field]
		if !ok {
			return nil, fmt.Errorf("listing: unsortable field %q", s.Field)
		}
		if s.Desc {
			col += " DESC"
		}
		order = append(order, col)
	}
	if len(order) == 0 {
		order = append(order, fallback)
	}
	// The tiebreaker runs the way the last key does, so that one index on
	// (tenant, key, id) scanned forwards or backwards yields the page with
	// no sort step, whichever direction was asked for.
	tiebreak = strings.TrimSuffix(tiebreak, " DESC")
	if strings.HasSuffix(order[len(order)-1], " DESC") {
		tiebreak += " DESC"
	}
	order = append(order, tiebreak)
	return q.Order(strings.Join(order, ", ")).Offset(p.Offset()).Limit(p.Size), nil
}
