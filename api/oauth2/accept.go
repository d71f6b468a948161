package oauth2

import (
	"strconv"
	"strings"
)

// mediaRange is one element of an Accept header (RFC 9110 §12.5.1).
type mediaRange struct {
	typ, subtype string // lower case; "*" for a wildcard
	q            float64
}

// parseAccept reads Accept header values into media ranges, in order. A
// range that is not type/subtype, or whose q is not a number from 0 to 1,
// is left out: it cannot be understood, so it expresses no preference.
func parseAccept(values []string) []mediaRange {
	var out []mediaRange
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			params := strings.Split(part, ";")
			typ, subtype, ok := strings.Cut(strings.ToLower(strings.TrimSpace(params[0])), "/")
			typ, subtype = strings.TrimSpace(typ), strings.TrimSpace(subtype)
			if !ok || typ == "" || subtype == "" || (typ == "*" && subtype != "*") {
				continue
			}
			r := mediaRange{typ: typ, subtype: subtype, q: 1}
			for _, p := range params[1:] {
				k, val, _ := strings.Cut(p, "=")
				if !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || !(q >= 0 && q <= 1) { // NaN fails both
					ok = false
				}
				r.q = q
			}
			if ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// acceptMatch is how an Accept header treats one media type: the quality
// of the most specific range that matches it (RFC 9110 §12.5.1), how
// specific that range is (3 the type itself, 2 type/*, 1 */*, 0 none) and
// its position.
type acceptMatch struct {
	q           float64
	specificity int
	index       int
}

func match(ranges []mediaRange, mediaType string) acceptMatch {
	typ, subtype, _ := strings.Cut(mediaType, "/")
	best := acceptMatch{index: len(ranges)}
	for i, r := range ranges {
		spec := 0
		switch {
		case r.typ == typ && r.subtype == subtype:
			spec = 3
		case r.typ == typ && r.subtype == "*":
			spec = 2
		case r.typ == "*":
			spec = 1
		}
		if spec > best.specificity {
			best = acceptMatch{q: r.q, specificity: spec, index: i}
		}
	}
	return best
}

// preferred reports whether the Accept header prefers candidate to
// fallback: a higher quality; at equal quality a range naming candidate
// itself over a wildcard that covers both; then the range that comes
// first. A tie (no Accept, or one wildcard for both) keeps fallback.
func preferred(ranges []mediaRange, candidate, fallback string) bool {
	c, f := match(ranges, candidate), match(ranges, fallback)
	switch {
	case c.q <= 0:
		return false
	case c.q != f.q:
		return c.q > f.q
	case c.specificity != f.specificity:
		return c.specificity > f.specificity
	default:
		return c.index < f.index
	}
}

// accepts reports whether the Accept header names mediaType itself (not
// through a wildcard) with a non-zero quality.
func accepts(ranges []mediaRange, mediaType string) bool {
	m := match(ranges, mediaType)
	return m.specificity == 3 && m.q > 0
}
