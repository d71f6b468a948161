package api

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
)

// listSpec says which sort fields and filters a list endpoint accepts.
type listSpec struct {
	Sorts   []string
	Filters []string
}

// listQuery is a parsed list request.
type listQuery struct {
	Page    listing.Params
	Filters map[string]string
	// numbered: the request asked for a page by number, and its links
	// number pages too; otherwise they carry cursors.
	numbered bool
	// after and before hold the cursors' text until the sort is known.
	after, before string
}

// The query parameters of the JSON:API cursor pagination profile.
const (
	pageAfter  = "page[after]"
	pageBefore = "page[before]"
)

// maxPageNumber keeps the row offset, (page[number]-1)*page[size], far
// inside what Go's int and Postgres' OFFSET hold.
const maxPageNumber = math.MaxInt32

// parseList validates the query string of a list request. Anything it does
// not know is a 400 naming the parameter; nothing is silently clamped. Every
// problem is reported at once, in the order of the parameter names.
func parseList(c echo.Context, spec listSpec) (listQuery, error) {
	q := listQuery{Page: listing.Default(), Filters: map[string]string{}}
	values, err := queryValues(c)
	if err != nil {
		return q, err
	}
	var all apiError
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if err := q.read(key, values[key], spec); err != nil {
			all.objects = append(all.objects, err.objects...)
		}
	}
	if len(all.objects) == 0 {
		if err := q.readCursors(); err != nil {
			all.objects = append(all.objects, err.objects...)
		}
	}
	if len(all.objects) > 0 {
		all.status = http.StatusBadRequest
		return q, &all
	}
	return q, nil
}

// readCursors decodes page[after] and page[before], which belong to the
// order the request sorts by (a cursor of another order is a 400).
func (q *listQuery) readCursors() *apiError {
	switch {
	case q.after != "" && q.before != "":
		e := paramError(pageBefore, "range_pagination_not_supported",
			"page[after] and page[before] cannot be combined; follow links.next or links.prev one page at a time")
		e.objects[0].Links = profileErrorType("range-pagination-not-supported")
		return e
	case q.numbered && (q.after != "" || q.before != ""):
		return paramError("page[number]", "page_number_with_cursor", "page[number] cannot be combined with page[after] or page[before]")
	}
	for _, c := range []struct {
		param, text string
		into        **listing.Cursor
	}{{pageAfter, q.after, &q.Page.After}, {pageBefore, q.before, &q.Page.Before}} {
		if c.text == "" {
			continue
		}
		cur, err := listing.ParseCursor(c.text, q.Page.Sort)
		if err != nil {
			return invalidCursor(c.param)
		}
		*c.into = cur
	}
	return nil
}

// invalidCursor is the 400 for a cursor this list did not hand out for
// this order (or one the database cannot place in it).
func invalidCursor(param string) *apiError {
	return paramError(param, "invalid_cursor",
		param+" must be a cursor from this list's links, sorted as it was; it comes from another list or order, or was altered")
}

// profileErrorType links an error to its definition in the JSON:API cursor
// pagination profile.
func profileErrorType(name string) *errorLinks {
	return &errorLinks{Type: "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/" + name}
}

// read takes one query parameter into q.
func (q *listQuery) read(key string, vals []string, spec listSpec) *apiError {
	if len(vals) > 1 {
		return paramError(key, "repeated_parameter", fault.Short(key)+" is given more than once")
	}
	v := vals[0]
	switch {
	case key == "page[number]":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageNumber {
			return paramError(key, "invalid_page_number", fmt.Sprintf("page[number] must be a whole number from 1 to %d", maxPageNumber))
		}
		q.Page.Number, q.numbered = n, true
	case key == "page[size]":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > listing.MaxSize {
			e := paramError(key, "invalid_page_size", fmt.Sprintf("page[size] must be a whole number from 1 to %d", listing.MaxSize))
			if err == nil && n > listing.MaxSize {
				e.objects[0].Meta = map[string]any{"page": map[string]any{"maxSize": listing.MaxSize}}
				e.objects[0].Links = profileErrorType("max-size-exceeded")
			}
			return e
		}
		q.Page.Size = n
	case key == pageAfter || key == pageBefore:
		if v == "" || len(v) > listing.MaxCursorLength {
			return invalidCursor(key)
		}
		if key == pageAfter {
			q.after = v
		} else {
			q.before = v
		}
	case key == "sort":
		sorts, err := parseSort(v, spec.Sorts)
		if err != nil {
			return err
		}
		q.Page.Sort = sorts
	case strings.HasPrefix(key, "filter[") && strings.HasSuffix(key, "]"):
		name := key[len("filter[") : len(key)-1]
		if !slices.Contains(spec.Filters, name) {
			return paramError(key, "unknown_filter", fmt.Sprintf("%s is not a filter here; accepted: %s", fault.Short(key), filterList(spec.Filters)))
		}
		// Filter values reach the database, whose text holds neither NUL
		// nor bytes that are not UTF-8.
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return paramError(key, "invalid_filter", fault.Short(key)+" must be UTF-8 text without NUL characters")
		}
		q.Filters[name] = v
	default:
		return unknownParam(key)
	}
	return nil
}

// queryValues parses the raw query string strictly. url.Values would
// silently drop a pair with a bad %-escape or a semicolon, turning
// page[size]=%zz into the default page size; here it is a 400 naming it.
func queryValues(c echo.Context) (url.Values, *apiError) {
	values := url.Values{}
	for _, pair := range strings.Split(c.Request().URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(rawKey)
		if kerr != nil {
			key = rawKey
		}
		value, verr := url.QueryUnescape(rawValue)
		if kerr != nil || verr != nil || strings.Contains(pair, ";") {
			return nil, paramError(key, "malformed_parameter",
				fmt.Sprintf("%s is not a well-formed query parameter (bad %%-escape or a semicolon)", fault.Short(key)))
		}
		values[key] = append(values[key], value)
	}
	return values, nil
}

func filterList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "filter[" + n + "]"
	}
	return strings.Join(out, ", ")
}

func parseSort(v string, allowed []string) ([]listing.Sort, *apiError) {
	var out []listing.Sort
	seen := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		s := listing.Sort{Field: f}
		if rest, ok := strings.CutPrefix(f, "-"); ok {
			s = listing.Sort{Field: rest, Desc: true}
		}
		if !slices.Contains(allowed, s.Field) {
			return nil, paramError("sort", "unknown_sort_field",
				fmt.Sprintf("cannot sort by %q; sortable fields: %s (prefix - for descending)", fault.Short(s.Field), listOrNone(allowed)))
		}
		if seen[s.Field] {
			return nil, paramError("sort", "repeated_sort_field", fmt.Sprintf("sort names %q twice", fault.Short(s.Field)))
		}
		seen[s.Field] = true
		out = append(out, s)
	}
	return out, nil
}

func unknownParam(key string) *apiError {
	detail := fmt.Sprintf("%s is not a query parameter this endpoint understands", fault.Short(key))
	if strings.HasPrefix(key, "include") || strings.HasPrefix(key, "fields[") {
		detail = fmt.Sprintf("%s is not supported: relationships carry ids only", fault.Short(key))
	}
	return paramError(key, "unknown_parameter", detail)
}

// noQuery rejects any query parameter on endpoints that take none.
func noQuery(c echo.Context) error {
	values, err := queryValues(c)
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		return unknownParam(key)
	}
	return nil
}

// filterID parses a filter value that must be an id. An empty value
// filters nothing: elastic.io's own example calls
// ".../oauth-clients/?filter[component]=" with the placeholder left empty.
func filterID(q listQuery, name string) (*uuid.UUID, error) {
	v := q.Filters[name]
	if v == "" {
		return nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return nil, paramError("filter["+name+"]", "invalid_id", fmt.Sprintf("filter[%s] must be an id (a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)", name))
	}
	return &id, nil
}

// filterBool parses a filter that is true or false; absent or empty
// filters nothing.
func filterBool(q listQuery, name string) (*bool, error) {
	switch q.Filters[name] {
	case "":
		return nil, nil
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, paramError("filter["+name+"]", "invalid_filter", fmt.Sprintf("filter[%s] must be true or false", name))
}

// pathID parses an id from the URL; a malformed one names nothing: 404.
func pathID(c echo.Context, name string, notFound error) (uuid.UUID, error) {
	v := c.Param(name)
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return uuid.Nil, notFound
	}
	return id, nil
}

// pageLinks builds the self/first/prev/next/last links that keep the other
// query parameters, and the meta. A request by page[number] gets numbered
// links and meta {page, per_page, total, total_pages} (elastic.io's); any
// other gets links that carry cursors (the JSON:API cursor pagination
// profile: next is page[after] the last item, prev page[before] the first,
// last page[before] the end), so following them costs the same at any
// depth and neither skips nor repeats an item when rows come and go. The
// first page without page[number] also carries meta.page and
// total_pages; pages read by cursor carry per_page and total.
func pageLinks(r *http.Request, p listing.Params, numbered bool, w listing.Window) (map[string]any, map[string]any) {
	if numbered {
		return numberedLinks(r, p, w.Total)
	}
	link := func(param string, c *listing.Cursor) string {
		v := otherParams(r)
		v.Set("page[size]", strconv.Itoa(p.Size))
		if c != nil {
			v.Set(param, c.Encode(p.Sort))
		}
		return r.URL.Path + "?" + v.Encode()
	}
	end := &listing.Cursor{End: true}
	links := map[string]any{"self": r.URL.RequestURI(), "first": link("", nil), "last": link(pageBefore, end),
		"prev": nil, "next": nil}
	switch {
	case p.Before != nil:
		if w.More {
			links["prev"] = link(pageBefore, w.First)
		}
		links["next"] = link(pageAfter, w.Last) // nil Last (an empty page): the start
	case p.After != nil:
		if w.More {
			links["next"] = link(pageAfter, w.Last)
		}
		links["prev"] = link(pageBefore, w.First)
		if w.First == nil { // nothing after the cursor: the last page precedes it
			links["prev"] = link(pageBefore, end)
		}
	case w.More:
		links["next"] = link(pageAfter, w.Last)
	}
	meta := map[string]any{"per_page": p.Size, "total": w.Total}
	if p.After == nil && p.Before == nil {
		meta["page"] = 1
		meta["total_pages"] = int((w.Total + int64(p.Size) - 1) / int64(p.Size))
	}
	return links, meta
}

// otherParams are the request's query parameters but the page position.
func otherParams(r *http.Request) url.Values {
	v := url.Values{}
	for k, vals := range r.URL.Query() {
		if k != pageAfter && k != pageBefore && k != "page[number]" {
			v[k] = vals
		}
	}
	return v
}

// numberedLinks are the links and meta of a page asked for by number.
func numberedLinks(r *http.Request, p listing.Params, total int64) (map[string]any, map[string]any) {
	pages := int((total + int64(p.Size) - 1) / int64(p.Size))
	link := func(n int) string {
		v := otherParams(r)
		v.Set("page[number]", strconv.Itoa(n))
		v.Set("page[size]", strconv.Itoa(p.Size))
		return r.URL.Path + "?" + v.Encode()
	}
	links := map[string]any{"self": link(p.Number), "first": link(1)}
	last := max(pages, 1)
	links["last"] = link(last)
	if p.Number > 1 {
		links["prev"] = link(min(p.Number-1, last))
	} else {
		links["prev"] = nil
	}
	if p.Number < pages {
		links["next"] = link(p.Number + 1)
	} else {
		links["next"] = nil
	}
	meta := map[string]any{"page": p.Number, "per_page": p.Size, "total": total, "total_pages": pages}
	return links, meta
}

// parseUUID parses a canonical 36-character id.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, fmt.Errorf("id %q is not a UUID", s)
	}
	return uuid.Parse(s)
}
