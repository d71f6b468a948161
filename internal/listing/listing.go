// Package listing carries a validated page-and-sort request from the API to
// the stores, and back a page of results with the total and the cursors
// that continue it: the page by number, or by cursor (keyset pagination,
// the JSON:API cursor pagination profile's page[after] and page[before]).
package listing

import (
	"maps"
	"slices"
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

// Params is a page request, already validated by the API layer: a page by
// number (offset), or, when After or Before is set, the page just after or
// just before a cursor (keyset pagination: a deep page costs what the first
// one does, and rows added or removed meanwhile shift nothing).
type Params struct {
	Number int // from 1; ignored when a cursor is set
	Size   int
	Sort   []Sort
	// After and Before: at most one is set.
	After, Before *Cursor
}

// Default is the first page with the default size and no explicit sort.
func Default() Params { return Params{Number: 1, Size: DefaultSize} }

// Offset is the number of rows before the page (0 when read by cursor).
func (p Params) Offset() int {
	if p.After != nil || p.Before != nil {
		return 0
	}
	return (p.Number - 1) * p.Size
}

// Page is one page of results and the total across all pages.
type Page[T any] struct {
	Items []T
	Window
}

// Window says where a page lies in its list.
type Window struct {
	Total int64
	// More: items lie beyond the page in the direction it was read (after
	// its last item; before its first when read with Before).
	More bool
	// First and Last are the cursors of the page's first and last items
	// (nil when the page is empty).
	First, Last *Cursor
}

// Sorts maps each field a list can be sorted by to the SQL it orders by.
// It is the one home of a list's sort fields: the store orders by it and
// the API derives the fields it accepts from it (Fields), so the two
// cannot disagree. An expression must never be NULL (wrap a nullable
// column in coalesce): a cursor compares values, and NULL compares to
// nothing.
type Sorts map[string]string

// Fields are the sortable fields in alphabetical order.
func (s Sorts) Fields() []string { return slices.Sorted(maps.Keys(s)) }
