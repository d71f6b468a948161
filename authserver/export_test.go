package authserver

import "time"

// SetLocalClockForTests makes g read the instance's clock from now, as an
// instance whose clock is off; call it before g issues anything.
func SetLocalClockForTests(g *Grants, now func() time.Time) { g.now = now }
