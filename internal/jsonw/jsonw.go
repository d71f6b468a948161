// Package jsonw writes JSON by hand, for the few answers sent thousands of
// times a second (access-token claims, introspection), where
// encoding/json's reflection costs more than the rest of the encoding.
// Strings are escaped as encoding/json escapes them: quotes, backslashes
// and control characters; <, > and & as \u003c, \u003e and \u0026; U+2028
// and U+2029; and invalid UTF-8 as U+FFFD. So what it writes decodes to
// the same values encoding/json's output does.
package jsonw

import (
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// plain are the ASCII bytes written as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, quoted and escaped.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendStrings appends ss as a JSON array of strings ([] when empty).
func AppendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendInt appends n.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// AppendBool appends true or false.
func AppendBool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// Object writes one JSON object's members in order; Field adds the comma.
type Object struct {
	Buf  []byte
	more bool
}

// Open starts the object on dst.
func Open(dst []byte) Object { return Object{Buf: append(dst, '{')} }

// Key writes a member's name (a constant, written as it is: no escaping)
// and the colon.
func (o *Object) Key(name string) {
	if o.more {
		o.Buf = append(o.Buf, ',')
	}
	o.more = true
	o.Buf = append(o.Buf, '"')
	o.Buf = append(o.Buf, name...)
	o.Buf = append(o.Buf, '"', ':')
}

// String writes a string member.
func (o *Object) String(name, v string) {
	o.Key(name)
	o.Buf = AppendString(o.Buf, v)
}

// Int writes a number member.
func (o *Object) Int(name string, v int64) {
	o.Key(name)
	o.Buf = AppendInt(o.Buf, v)
}

// Bool writes a boolean member.
func (o *Object) Bool(name string, v bool) {
	o.Key(name)
	o.Buf = AppendBool(o.Buf, v)
}

// Strings writes an array-of-strings member.
func (o *Object) Strings(name string, v []string) {
	o.Key(name)
	o.Buf = AppendStrings(o.Buf, v)
}

// Close ends the object and returns the whole buffer.
func (o *Object) Close() []byte { return append(o.Buf, '}') }
