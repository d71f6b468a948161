// Package jsontext finds what encoding/json would silently rewrite: \u
// escapes of UTF-16 surrogates that are not part of a pair (Go turns them
// into U+FFFD, Postgres' jsonb refuses them). Both the request decoder and
// the component.json validator must refuse such text rather than store it
// changed.
package jsontext

import "strconv"

// LoneSurrogate returns the offset of the first `\uXXXX` escape in JSON
// text that names an unpaired surrogate, and whether it is a high one; at
// is -1 when there is none. Backslashes occur only inside strings in valid
// JSON, so the whole text can be scanned.
func LoneSurrogate(raw []byte) (at int, high bool) {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		r, ok := hex4(raw, i+2)
		switch {
		case !ok:
			continue
		case r >= 0xDC00 && r <= 0xDFFF:
			return i, false
		case r >= 0xD800 && r <= 0xDBFF:
			low, ok := rune(0), false
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				low, ok = hex4(raw, i+8)
			}
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return i, true
			}
			i += 11
		default:
			i += 5
		}
	}
	return -1, false
}

func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
