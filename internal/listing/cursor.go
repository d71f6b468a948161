package listing

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Cursor is a position in a sorted list: the sort keys, tiebreaker last,
// of the item it falls on, as the database wrote them; or the end of the
// list (End), so that the page before it is the last page. An item deleted
// since leaves its cursor where it was: the same items come before and
// after it.
type Cursor struct {
	Keys []string
	End  bool
}

// MaxCursorLength bounds a cursor's text (its keys are a few short values).
const MaxCursorLength = 1024

// ErrMalformedCursor: the text is no cursor this list handed out.
var ErrMalformedCursor = errors.New("not a cursor of this list in this order")

// cursorText is what a cursor's text holds: the order it belongs to, so
// that a cursor is not taken for a position in another order.
type cursorText struct {
	Order string   `json:"o"`
	Keys  []string `json:"k,omitempty"`
	End   bool     `json:"e,omitempty"`
}

// Encode writes the cursor as opaque URL-safe text for a list sorted by
// sorts (nil: the list's default order).
func (c *Cursor) Encode(sorts []Sort) string {
	b, _ := json.Marshal(cursorText{Order: orderName(sorts), Keys: c.Keys, End: c.End})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a cursor Encode wrote for the same order.
func ParseCursor(text string, sorts []Sort) (*Cursor, error) {
	if len(text) > MaxCursorLength {
		return nil, ErrMalformedCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return nil, ErrMalformedCursor
	}
	var ct cursorText
	if err := json.Unmarshal(b, &ct); err != nil || ct.Order != orderName(sorts) || ct.End == (len(ct.Keys) > 0) {
		return nil, ErrMalformedCursor
	}
	for _, k := range ct.Keys {
		// Keys reach the database, whose text holds neither NUL nor
		// bytes that are not UTF-8.
		if !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
			return nil, ErrMalformedCursor
		}
	}
	return &Cursor{Keys: ct.Keys, End: ct.End}, nil
}

// orderName is the sort as the sort parameter spells it ("" for the
// default order).
func orderName(sorts []Sort) string {
	names := make([]string, len(sorts))
	for i, s := range sorts {
		names[i] = s.Field
		if s.Desc {
			names[i] = "-" + s.Field
		}
	}
	return strings.Join(names, ",")
}
