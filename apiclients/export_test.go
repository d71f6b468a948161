package apiclients

// BcryptCompares is how many bcrypt comparisons this process has made.
func BcryptCompares() int64 { return bcryptCompares.Load() }

// ForgetTouches drops this instance's memory of its last_used_at writes, as
// if a minute had passed since them.
func (s *Service) ForgetTouches() { s.touches.Clear() }
