package apiclients

// BcryptCompares is how many bcrypt comparisons this process has made.
func BcryptCompares() int64 { return bcryptCompares.Load() }
