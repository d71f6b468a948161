package apiclients

// ForgetTouches drops this instance's memory of its last_used_at writes, as
// if a minute had passed since them.
func (s *Service) ForgetTouches() { s.touches.Clear() }
