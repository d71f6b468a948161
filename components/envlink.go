package components

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oauthd/oauthd/internal/fault"
)

// EnvLink names the declared envVars that receive the tenant's OAuth client
// id and secret: elastic.io's link between tenant OAuth clients and the
// environment variables components read them from before ("we should also
// create a link between the new implementation and environment variables
// if they were present"). Either name may be empty: no variable gets it.
type EnvLink struct {
	ClientID     string
	ClientSecret string
}

// Env fills the linked variables with the client's id and secret.
func (l EnvLink) Env(clientID, clientSecret string) map[string]string {
	env := map[string]string{}
	if l.ClientID != "" {
		env[l.ClientID] = clientID
	}
	if l.ClientSecret != "" {
		env[l.ClientSecret] = clientSecret
	}
	return env
}

// Link works out the link. A field written as a {{VAR}} reference links
// VAR. An empty (or absent) field links the one declared variable whose
// name says what it holds: a name ending in _KEY or _ID (which covers
// CLIENT_ID) for the id, _SECRET for the secret (elastic.io's PIZZAVAN_KEY
// and PIZZAVAN_SECRET, or OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET). Several
// such variables make the link a guess: that is the problem returned, so
// validation refuses the descriptor instead of the link picking one.
func (d Descriptor) Link() (EnvLink, *fault.Problem) {
	var idField, secretField string
	if d.OAuth2 != nil {
		idField, secretField = d.OAuth2.ClientID, d.OAuth2.ClientSecret
	}
	link := EnvLink{ClientID: EnvReference(idField), ClientSecret: EnvReference(secretField)}
	if link.ClientID != "" && link.ClientID == link.ClientSecret {
		return EnvLink{}, fault.InvalidAttribute(d.oauth2Pointer()+"/client_secret", "ambiguous_env_link",
			fmt.Sprintf("client_id and client_secret both refer to {{%s}}; one variable cannot hold both", link.ClientID))
	}
	taken := []string{link.ClientID, link.ClientSecret}
	var idCandidates, secretCandidates []string
	for _, name := range d.EnvVars {
		if slices.Contains(taken, name) {
			continue
		}
		upper := strings.ToUpper(name)
		switch {
		case strings.HasSuffix(upper, "_SECRET"):
			secretCandidates = append(secretCandidates, name)
		case strings.HasSuffix(upper, "_KEY"), strings.HasSuffix(upper, "_ID"), strings.HasSuffix(upper, "CLIENT_ID"):
			idCandidates = append(idCandidates, name)
		}
	}
	var guesses, ambiguous []string
	if idField == "" {
		if len(idCandidates) > 1 {
			guesses = append(guesses, fmt.Sprintf("the client id could go to any of %s", strings.Join(idCandidates, ", ")))
			ambiguous = append(ambiguous, idCandidates...)
		} else if len(idCandidates) == 1 {
			link.ClientID = idCandidates[0]
		}
	}
	if secretField == "" {
		if len(secretCandidates) > 1 {
			guesses = append(guesses, fmt.Sprintf("the client secret could go to any of %s", strings.Join(secretCandidates, ", ")))
			ambiguous = append(ambiguous, secretCandidates...)
		} else if len(secretCandidates) == 1 {
			link.ClientSecret = secretCandidates[0]
		}
	}
	if len(guesses) > 0 {
		p := fault.InvalidAttribute("descriptor/envVars", "ambiguous_env_link",
			"the link from the tenant's OAuth client to descriptor.envVars is ambiguous: "+strings.Join(guesses, "; ")+
				`; name the variables in the oauth2 block instead, e.g. "client_id": "{{OAUTH_CLIENT_ID}}", "client_secret": "{{OAUTH_CLIENT_SECRET}}"`)
		p.Meta = map[string]any{"env_vars": ambiguous}
		return EnvLink{}, p
	}
	return link, nil
}

func (d Descriptor) oauth2Pointer() string {
	if d.OAuth2 != nil {
		return d.OAuth2.Pointer
	}
	return "descriptor/oauth2"
}
