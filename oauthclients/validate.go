package oauthclients

import (
	"fmt"

	"github.com/oauthd/oauthd/internal/fault"
)

// Length bounds: generous for any real provider, small enough to index and log safely.
const (
	maxClientID     = 1024
	maxClientSecret = 4096
)

// checkCredential applies RFC 6749 Appendix A: client_id and client_secret
// are VSCHAR, printable ASCII %x20-7E.
func checkCredential(ps *fault.Problems, attr, v string, maxLen int) {
	if v == "" {
		ps.Add(fault.InvalidAttribute(attr, "required", attr+" is required"))
		return
	}
	if len(v) > maxLen {
		ps.Add(fault.InvalidAttribute(attr, "too_long", fmt.Sprintf("%s must be at most %d characters", attr, maxLen)))
		return
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			ps.Add(fault.InvalidAttribute(attr, "invalid_characters",
				// The position helps find the bad character without echoing any of a secret.
				fmt.Sprintf("%s must hold printable ASCII only (RFC 6749 Appendix A: %%x20-7E); the character at byte %d is not", attr, i)))
			return
		}
	}
}
