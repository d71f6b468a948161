package listing

import (
	"slices"
	"testing"
)

// FuzzParseCursor feeds arbitrary text to the cursor decoder: it never
// panics, takes only cursors of the order asked for, and what it takes
// encodes back to a cursor that reads the same.
func FuzzParseCursor(f *testing.F) {
	name := []Sort{{Field: "name"}, {Field: "created_at", Desc: true}}
	for _, c := range []*Cursor{{Keys: []string{"a", "2026-01-01T00:00:00Z", "0f8fad5b-d9cb-469f-a165-70867728950e"}}, {End: true}} {
		f.Add(c.Encode(name), true)
		f.Add(c.Encode(nil), false)
	}
	f.Add("", false)
	f.Add("eyJvIjoiIiwiayI6W119", false)
	f.Add("!!!", true)
	f.Fuzz(func(t *testing.T, text string, named bool) {
		sorts := []Sort(nil)
		if named {
			sorts = name
		}
		c, err := ParseCursor(text, sorts)
		if err != nil {
			return
		}
		if c.End == (len(c.Keys) > 0) {
			t.Fatalf("%q: a cursor must be the end or hold keys: %+v", text, c)
		}
		again, err := ParseCursor(c.Encode(sorts), sorts)
		if err != nil || again.End != c.End || !slices.Equal(again.Keys, c.Keys) {
			t.Fatalf("%q does not round-trip: %+v, %+v, %v", text, c, again, err)
		}
		if _, err := ParseCursor(c.Encode([]Sort{{Field: "other"}}), sorts); err == nil {
			t.Fatalf("a cursor of another order was taken for %q", text)
		}
	})
}

// A cursor belongs to its order; an altered one is refused.
func TestParseCursor(t *testing.T) {
	sorts := []Sort{{Field: "name", Desc: true}}
	c := &Cursor{Keys: []string{"x", "y"}}
	got, err := ParseCursor(c.Encode(sorts), sorts)
	if err != nil || !slices.Equal(got.Keys, c.Keys) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{c.Encode(nil), c.Encode([]Sort{{Field: "name"}}), c.Encode(sorts) + "x", "", "e30"} {
		if _, err := ParseCursor(bad, sorts); err == nil {
			t.Errorf("took %q", bad)
		}
	}
}
