package authserver

import "github.com/oauthd/oauthd/internal/rewrap"

// RewrapTarget is where the signing keys' private halves are sealed (bound
// to their kid), for re-sealing them under a new master key.
func RewrapTarget() rewrap.Target {
	return rewrap.Target{Name: "signing_keys", Table: "signing_keys", Key: []string{"kid"},
		Fields: []string{"kid"}, Groups: []rewrap.Group{{KeyID: "sealed_with", Columns: []string{"private_ciphertext"},
			AAD: func(f map[string]string, _ string) []byte { return []byte(f["kid"]) }}}}
}
